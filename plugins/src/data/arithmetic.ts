import { Rng } from '@e3/core';
import { heldoutOrigin, stepIndexedBatches, type Dataset, type Example } from './dataset.js';

export interface ArithmeticParams {
  readonly ops: readonly ('+' | '-' | '*')[];
  readonly maxOperand: number;
  readonly heldoutFraction: number;
  /** Fixes the train/held-out split independently of the run seed. */
  readonly splitSeed?: number;
}

/** All problems `A op B=` for A, B in 0..maxOperand, answered by the exact integer. */
export function allProblems(p: ArithmeticParams): Example[] {
  const out: Example[] = [];
  for (const op of p.ops) {
    for (let a = 0; a <= p.maxOperand; a++) {
      for (let b = 0; b <= p.maxOperand; b++) {
        const v = op === '+' ? a + b : op === '-' ? a - b : a * b;
        out.push({ prompt: `${a}${op}${b}=`, answer: String(v) });
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
    fingerprint: `arithmetic:${p.ops.join('')}:${p.maxOperand}:${p.heldoutFraction}:${p.splitSeed}:${rng.fork('fingerprint').nextUint32()}`,
    trainSize: train.length,
    heldoutSize: held.length,
    heldoutOrigin: heldoutOrigin(node, p.heldoutFraction, `${problems.length} problems`),
    trainBatch: batch,
    heldout: async (limit) => held.slice(0, limit ?? held.length),
    calibration: async (limit) => train.slice(0, limit),
  };
}
