import type * as tf from '@tensorflow/tfjs-core';
import type { PortSpec, Supply } from '@e3/core';
import type { StudentTokens } from '../model/student-tokens.js';
import type { TeacherTargets } from '../teacher/topk-cache.js';

/**
 * What a loss term (or weighting) can require of the training step, and the input port a node
 * must have wired for its step to build it. A component lists these names in its manifest's
 * `requires`; a training node's manifest `supplies` them ({@link stepSupplies}), and
 * `e3 validate` refuses a component whose node cannot.
 */
export const STEP_SUPPLIES = {
  /** Next-token labels of the batch (always there). */
  labels: {},
  /** The teacher cache's top-k targets for the batch. */
  teacherTargets: { input: 'targets' },
  /** Student hidden states and the teacher's, block by block (needs the teacher model). */
  hiddenStates: { input: 'teacher' },
} as const satisfies Record<string, Supply>;

/** A requirement name of {@link STEP_SUPPLIES}. */
export type LossNeed = keyof typeof STEP_SUPPLIES;

/** The `supplies` of a training node's manifest: what its step can build from the ports it has. */
export function stepSupplies(inputs: Readonly<Record<string, PortSpec>>): Record<string, Supply> {
  return Object.fromEntries(Object.entries(STEP_SUPPLIES).filter(([, s]) => !('input' in s) || s.input in inputs));
}

/** Everything a loss term may look at for one batch. */
export interface LossInputs {
  /** The student's per-token statistics. */
  readonly student: StudentTokens;
  /** Next-token ids [B, T] (int32, −1 where no loss applies). */
  readonly labels: tf.Tensor2D;
  /** [B, T] 1 where a loss applies, else 0. */
  readonly active: tf.Tensor2D;
  /** [B, T] per-token weights (already zero where inactive); the term divides by their sum. */
  readonly tokenWeights: tf.Tensor2D;
  /** V: the tokenizer's vocabulary size (e.g. to normalise an entropy). */
  readonly vocabSize: number;
  /** `teacherTargets`: the teacher's top-k targets. */
  readonly targets?: TeacherTargets;
  /**
   * `hiddenStates`: the student's hidden states, K + 1 tensors [B, T, d]: the embedding output, then
   * each of its K blocks' outputs (the residual stream, before the final norm).
   */
  readonly hidden?: tf.Tensor3D[];
  /**
   * `hiddenStates`: K tensors [B, T, d], one per student block: the output of the teacher block it
   * descends from (student block j ↔ teacher block `keptLayers[j]`), to compare with `hidden[j + 1]`.
   * No embedding entry. Present when the component `requires` hiddenStates.
   */
  readonly teacherHidden?: tf.Tensor3D[];
}

/**
 * One step's loss: `value` runs under the gradient tape; `terms` are read after it on logging steps;
 * `dispose` frees the batch. A batch may run as `micro` micro-batches (gradient accumulation):
 * `value(i)` is micro-batch i's part of the batch's loss (the parts sum to it), each under its own
 * tape between `prepare(i)` and `release(i)`.
 */
export interface StepLoss {
  tokens: number;
  value: (micro: number) => tf.Scalar;
  /** Micro-batches (default 1). */
  micro?: number;
  /** Awaited before micro-batch i's tape (what it needs built outside the tape). */
  prepare?: (micro: number) => Promise<void>;
  /** Called once micro-batch i's gradient is taken. */
  release?: (micro: number) => void;
  terms?: () => Record<string, tf.Scalar>;
  /** Plain numbers to record with the step (schedules). */
  info?: () => Record<string, number>;
  /** What the progress line shows for this step (default: the loss). */
  progress?: (loss: number) => Record<string, number | string>;
  dispose?: () => void;
}

/** A {@link StepLoss} as `trainingStep` builds it: every hook there, and micro-batch 0 by default. */
export type BuiltStepLoss = Required<Omit<StepLoss, 'value' | 'info' | 'progress'>> &
  Pick<StepLoss, 'info' | 'progress'> & { value: (micro?: number) => tf.Scalar };
