import { Rng } from '@e3/core';
import { heldoutOrigin, stepIndexedBatches, type Dataset, type Example } from './dataset.js';

export interface ArithmeticParams {
  readonly ops: readonly ('+' | '-' | '*')[];
  readonly maxOperand: number;
  readonly heldoutFraction: number;
  /** Fixes the train/held-out split independently of the run seed. */
  readonly splitSeed?: number;
  /** `answer`: the result alone; `steps`: `+` and `-` worked column by column, then the result (`*` stays plain). */
  readonly format?: 'answer' | 'steps';
}

/**
 * Column-by-column working of `a op b` for `+` and `-`, least significant digit first, then the
 * result after `;`. Each step is `x+y(+carry)=s` or `x-y(-borrow)=s`, with the carry or borrow
 * into the next column implied by s (addition: s >= 10; subtraction: the step adds 10 as `+10`).
 * 47+85 → `7+5=12,4+8+1=13;132`; 52-38 → `2-8+10=4,5-3-1=1;14`; 3-9 → `9-3=6;-6`.
 */
export function workedAnswer(a: number, op: '+' | '-', b: number): string {
  if (op === '-' && a < b) return `${workedAnswer(b, '-', a).replace(/;.*/, '')};-${b - a}`;
  const da = [...String(a)].reverse().map(Number);
  const db = [...String(b)].reverse().map(Number);
  const steps: string[] = [];
  let carry = 0;
  for (let i = 0; i < Math.max(da.length, db.length); i++) {
    const x = da[i] ?? 0;
    const y = db[i] ?? 0;
    if (op === '+') {
      const s = x + y + carry;
      steps.push(`${x}+${y}${carry ? '+1' : ''}=${s}`);
      carry = s >= 10 ? 1 : 0;
    } else {
      const d = x - y - carry;
      steps.push(`${x}-${y}${carry ? '-1' : ''}${d < 0 ? '+10' : ''}=${d < 0 ? d + 10 : d}`);
      carry = d < 0 ? 1 : 0;
    }
  }
  return `${steps.join(',')};${op === '+' ? a + b : a - b}`;
}

/** All problems `A op B=` for A, B in 0..maxOperand, answered by the exact integer. */
export function allProblems(p: ArithmeticParams): Example[] {
  const out: Example[] = [];
  for (const op of p.ops) {
    for (let a = 0; a <= p.maxOperand; a++) {
      for (let b = 0; b <= p.maxOperand; b++) {
        const v = op === '+' ? a + b : op === '-' ? a - b : a * b;
        const answer = p.format === 'steps' && op !== '*' ? workedAnswer(a, op, b) : String(v);
        out.push({ prompt: `${a}${op}${b}=`, answer });
      }
    }
  }
  return out;
}

/**
 * MATH-style exact-answer problems, deterministic for a seed: the problem set is split
 * once into train and held-out by a seeded shuffle; training batches are step-indexed.
 */
export function arithmeticDataset(p: ArithmeticParams, rng: Rng, node?: string): Dataset {
  // The split must not move with the run seed, or a pruning run's "held-out" problems would be
  // ones the teacher trained on. It comes from splitSeed; the extra fork('data') makes the
  // default (1234) reproduce the split the shipped teacher was trained with, whose split came
  // from its run RNG (seed 1234) forked by the node id "data".
  const splitRng = p.splitSeed === undefined ? rng : new Rng(p.splitSeed).fork('data');
  const problems = splitRng.fork('split').shuffle(allProblems(p));
  const nHeld = Math.round(problems.length * p.heldoutFraction);
  const held = problems.slice(0, nHeld);
  const train = problems.slice(nHeld);
  const batch = stepIndexedBatches(train.length, rng.fork('train'), async (idx) => idx.map((i) => train[i]));
  return {
    fingerprint: `arithmetic:${p.ops.join('')}:${p.maxOperand}:${p.heldoutFraction}:${p.splitSeed}:${p.format === 'steps' ? 'steps:' : ''}${rng.fork('fingerprint').nextUint32()}`,
    trainSize: train.length,
    heldoutSize: held.length,
    heldoutOrigin: heldoutOrigin(node, p.heldoutFraction, `${problems.length} problems`),
    trainBatch: batch,
    heldout: async (limit) => held.slice(0, limit ?? held.length),
    calibration: async (limit) => train.slice(0, limit),
  };
}
