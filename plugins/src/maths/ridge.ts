/**
 * Regularised least squares for a d × d linear map, in float64 (linear-patch.ts uses it).
 *
 * Rows x_t (inputs) and r_t (targets), both of width d, are summarised by their moments
 * G = Σ x_tᵀ x_t / N, C = Σ x_tᵀ r_t / N and s = Σ |r_t|² / N ({@link MomentSums}), so the fit costs
 * O(d²) memory whatever the number of calibration tokens. The fit minimises
 *
 *     (1/N) Σ_t |x_t T − r_t|² + λ · (tr G / d) · |T − I|²_F
 *
 * whose normal equations are (G + μ I) T = C + μ I with μ = λ · tr G / d. The penalty pulls T
 * towards the identity, i.e. towards plain removal of the blocks (T = I leaves the model as
 * `model.prune` makes it), never towards T = 0, which would delete the preceding block's MLP.
 * Scaling λ by the mean squared activation tr G / d makes it unit-free: λ = 1e-3 means "small"
 * for any model.
 */

/** Accumulated moments of (x, r) row pairs, float64. */
export class MomentSums {
  /** Σ xᵀx, row-major d × d. */
  readonly xx: Float64Array;
  /** Σ xᵀr, row-major d × d. */
  readonly xr: Float64Array;
  /** Σ |r|². */
  rr = 0;
  /** Rows added. */
  rows = 0;

  constructor(readonly d: number) {
    this.xx = new Float64Array(d * d);
    this.xr = new Float64Array(d * d);
  }

  /** Adds the rows `use` of x and r ([n, d] row-major; all rows when `use` is absent). */
  add(x: ArrayLike<number>, r: ArrayLike<number>, use?: readonly boolean[]): void {
    const d = this.d;
    const n = x.length / d;
    const xi = new Float64Array(d);
    for (let t = 0; t < n; t++) {
      if (use && !use[t]) continue;
      for (let i = 0; i < d; i++) xi[i] = x[t * d + i];
      for (let i = 0; i < d; i++) {
        const a = xi[i];
        if (a === 0) continue;
        const row = i * d;
        for (let j = 0; j < d; j++) {
          this.xx[row + j] += a * xi[j];
          this.xr[row + j] += a * r[t * d + j];
        }
      }
      for (let j = 0; j < d; j++) this.rr += r[t * d + j] * r[t * d + j];
      this.rows++;
    }
  }

  /** Mean squared error (1/N) Σ |x T − r|² of a map T (row-major d × d), from the moments alone. */
  meanSquaredError(T: Float64Array): number {
    const d = this.d;
    // Σ|xT − r|² = tr(Tᵀ XᵀX T) − 2 tr(Tᵀ Xᵀr) + Σ|r|²
    let quad = 0,
      cross = 0;
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        cross += T[i * d + j] * this.xr[i * d + j];
        let gt = 0;
        for (let k = 0; k < d; k++) gt += this.xx[i * d + k] * T[k * d + j];
        quad += T[i * d + j] * gt;
      }
    return (quad - 2 * cross + this.rr) / Math.max(this.rows, 1);
  }
}

/** The identity, row-major d × d. */
export function identity(d: number): Float64Array {
  const I = new Float64Array(d * d);
  for (let i = 0; i < d; i++) I[i * d + i] = 1;
  return I;
}

/**
 * Lower Cholesky factor of a symmetric positive definite matrix (row-major n × n), or undefined
 * when it is not positive definite (to rounding).
 */
export function cholesky(a: Float64Array, n: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let diag = a[j * n + j];
    for (let k = 0; k < j; k++) diag -= l[j * n + k] * l[j * n + k];
    if (!(diag > 1e-12 * Math.max(Math.abs(a[j * n + j]), 1e-300))) return undefined;
    const ljj = Math.sqrt(diag);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / ljj;
    }
  }
  return l;
}

/** Solves (L Lᵀ) X = B for X, with L from {@link cholesky} and B row-major n × m. */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array, m: number): Float64Array {
  const x = Float64Array.from(b);
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let s = x[i * m + c];
      for (let k = 0; k < i; k++) s -= l[i * n + k] * x[k * m + c];
      x[i * m + c] = s / l[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i * m + c];
      for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k * m + c];
      x[i * m + c] = s / l[i * n + i];
    }
  }
  return x;
}

/**
 * The T minimising (1/N) Σ|x T − r|² + λ (tr G / d) |T − I|²_F from the moments (see the file's
 * comment), or undefined when G + μI is singular (λ = 0 and too few or collinear rows).
 */
export function ridgeTowardIdentity(sums: MomentSums, lambda: number): Float64Array | undefined {
  const d = sums.d;
  const n = Math.max(sums.rows, 1);
  let trace = 0;
  for (let i = 0; i < d; i++) trace += sums.xx[i * d + i] / n;
  const mu = (lambda * trace) / d;
  const a = new Float64Array(d * d);
  const b = new Float64Array(d * d);
  for (let i = 0; i < d * d; i++) {
    a[i] = sums.xx[i] / n;
    b[i] = sums.xr[i] / n;
  }
  for (let i = 0; i < d; i++) {
    a[i * d + i] += mu;
    b[i * d + i] += mu;
  }
  const l = cholesky(a, d);
  return l && choleskySolve(l, d, b, d);
}
