import { strict as assert } from 'node:assert';
import { Rng } from '@e3/core';
import { cholesky, choleskySolve, identity, MomentSums, ridgeTowardIdentity } from '@e3/plugins';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) =>
  Array.from(a).forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol, `${what}[${i}]: ${v} vs ${b[i]}`));

/** x T for rows x ([n, d]) and T (d × d), row-major. */
function times(x: number[], T: number[], d: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < x.length / d; t++)
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += x[t * d + k] * T[k * d + j];
      out.push(s);
    }
  return out;
}

describe('maths: ridge least squares for the linear patch', () => {
  it('recovers a known map from noise-free rows (λ = 0)', () => {
    const d = 3;
    const T = [0.5, -1, 2, 0, 1.5, 0.25, -0.75, 0.1, 1];
    const rng = new Rng(5);
    const x = Array.from({ length: 40 * d }, () => rng.next() * 2 - 1);
    const sums = new MomentSums(d);
    sums.add(x, times(x, T, d));
    const fit = ridgeTowardIdentity(sums, 0)!;
    close(fit, T, 1e-10, 'T');
    assert.ok(sums.meanSquaredError(fit) < 1e-20);
  });

  it('shrinks towards the identity by the amount worked out by hand on a 2 × 2 case', () => {
    // Rows x = (1, 0), (0, 1); targets r = (3, 1), (0, 1). G = XᵀX/N = I/2, C = Xᵀr/N = [[1.5, 0.5], [0, 0.5]].
    // λ = 1: μ = λ·tr G/d = 0.5, so (G + μI) T = C + μI gives T = [[2, 0.5], [0, 1]];
    // λ = 0 gives T = G⁻¹C = [[3, 1], [0, 1]] (the exact fit).
    const sums = new MomentSums(2);
    sums.add([1, 0, 0, 1], [3, 1, 0, 1]);
    close(ridgeTowardIdentity(sums, 1)!, [2, 0.5, 0, 1], 1e-12, 'λ=1');
    close(ridgeTowardIdentity(sums, 0)!, [3, 1, 0, 1], 1e-12, 'λ=0');
    // Plain removal (T = I): |(1,0) − (3,1)|² + |(0,1) − (0,1)|² = 5 over 2 rows.
    assert.equal(sums.meanSquaredError(identity(2)), 2.5);
    // T = [[2, 0.5], [0, 1]]: x₁T = (2, 0.5), off by (−1, −0.5): 1.25 over 2 rows.
    assert.ok(Math.abs(sums.meanSquaredError(Float64Array.from([2, 0.5, 0, 1])) - 0.625) < 1e-12);
  });

  it('counts only the rows it is told to use', () => {
    const sums = new MomentSums(2);
    sums.add([1, 0, 0, 1, 7, 7], [3, 1, 0, 1, 100, -100], [true, true, false]);
    assert.equal(sums.rows, 2);
    close(ridgeTowardIdentity(sums, 0)!, [3, 1, 0, 1], 1e-12, 'T');
  });

  it('reports a singular system instead of a wrong answer', () => {
    const sums = new MomentSums(2);
    sums.add([1, 1, 2, 2], [1, 0, 2, 0]); // collinear rows: XᵀX has rank 1
    assert.equal(ridgeTowardIdentity(sums, 0), undefined);
    assert.ok(ridgeTowardIdentity(sums, 0.1), 'a ridge makes it solvable');
  });

  it('Cholesky solves a 2 × 2 system worked out by hand', () => {
    // A = [[4, 2], [2, 3]] = L Lᵀ with L = [[2, 0], [1, √2]]; A x = (2, 1) has x = (0.5, 0).
    const l = cholesky(Float64Array.from([4, 2, 2, 3]), 2)!;
    close(l, [2, 0, 1, Math.SQRT2], 1e-15, 'L');
    close(choleskySolve(l, 2, Float64Array.from([2, 1]), 1), [0.5, 0], 1e-15, 'x');
  });
});
