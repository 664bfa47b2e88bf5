import * as tf from '@tensorflow/tfjs-core';
import { UserError, type PortSpec, type Supply } from '@e3/core';
import { encodeBatch, type TextCodec } from '../data/batch.js';
import { batchTensors } from '../data/batch-tensors.js';
import type { Example } from '../data/dataset.js';
import type { ModelHandle } from '../model/handle.js';
import { forwardTokens, type StudentTokens } from '../model/student-tokens.js';
import { disposeTargets, type TeacherCache, type TeacherTargets } from '../teacher/topk-cache.js';
import type { TokenWeighting } from '../weighting/weighting.js';
import type { LossTerm } from './loss-term.js';

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
  readonly vocabSize: number;
  /** `teacherTargets`: the teacher's top-k targets. */
  readonly targets?: TeacherTargets;
  /** `hiddenStates`: the student's hidden states (embeddings, then each block's output). */
  readonly hidden?: tf.Tensor3D[];
  /** `hiddenStates`: the teacher blocks' outputs the student's blocks descend from, one per student block. */
  readonly teacherHidden?: tf.Tensor3D[];
}

/** Sum of weight × term over a list of loss terms (the terms' own values returned too). */
export function combineLosses(
  terms: readonly LossTerm[],
  compute: (t: LossTerm) => tf.Scalar,
): { total: tf.Scalar; parts: Record<string, tf.Scalar> } {
  const parts: Record<string, tf.Scalar> = {};
  let total: tf.Scalar = tf.scalar(0);
  for (const t of terms) {
    const v = compute(t);
    parts[t.name] = v;
    total = tf.add(total, tf.mul(v, t.weight));
  }
  return { total, parts };
}

/** One step's loss, as the train loop takes it (train-loop.ts's StepLoss). */
export interface TrainingStepLoss {
  tokens: number;
  value: () => tf.Scalar;
  terms: () => Record<string, tf.Scalar>;
  info?: () => Record<string, number>;
  progress?: (loss: number) => Record<string, number | string>;
  dispose: () => void;
}

/** How a node's steps are built. */
export interface TrainingStepSpec {
  /** Node id, for errors. */
  readonly node: string;
  /** The student; its forward pass runs under the gradient tape. */
  readonly model: ModelHandle;
  readonly codec: TextCodec;
  readonly loss: readonly LossTerm[];
  readonly promptLoss: boolean;
  /** Whether the output head's weights get gradients (false: the mask search). */
  readonly trainHead: boolean;
  readonly headChunkTokens: number;
  /** Gradient checkpointing per block (ForwardOptions.recompute). */
  readonly recompute?: boolean;
  /** Per-token weights; none: every active token weighs 1. */
  readonly weighting?: TokenWeighting;
  /** Needed for `teacherTargets`. */
  readonly cache?: TeacherCache;
  /** Needed for `hiddenStates`. */
  readonly teacher?: ModelHandle;
}

/** Per-step additions of a caller (the mask search's sampled mask and schedule). */
export interface StepExtras {
  /** Called under the tape: the layer mask of this step's forward pass. */
  readonly mask?: () => tf.Tensor1D;
  readonly info?: () => Record<string, number>;
  /** What the progress line shows for this step (default: the loss). */
  readonly progress?: (loss: number) => Record<string, number | string>;
  /** Called when the step's tensors are freed. */
  readonly dispose?: () => void;
}

/**
 * The training step shared by `trainer.train`, `distiller.train` and `masker.search`: encode a
 * batch, build what the loss terms require (teacher targets, hidden states), then — under the
 * gradient tape — the student's forward pass, the token weights and the weighted sum of the
 * terms. Each term's value is kept for the train loop's records; `dispose` frees the batch.
 */
export function trainingStep(
  spec: TrainingStepSpec,
): (examples: readonly Example[], extras?: StepExtras) => Promise<TrainingStepLoss> {
  const needs = new Set(spec.loss.flatMap((t) => t.requires));
  // With a cache wired, targets are read for every batch: the weighting may use them.
  const useTargets = needs.has('teacherTargets') || spec.cache !== undefined;
  const useHidden = needs.has('hiddenStates');
  // `e3 validate` refuses such graphs (STEP_SUPPLIES); this guards callers from code.
  const missing = [
    useTargets && !spec.cache && 'teacherTargets (from a teacher cache)',
    useHidden && !spec.teacher && 'hiddenStates (from the teacher model)',
  ].filter(Boolean);
  if (missing.length) {
    throw new UserError(`node "${spec.node}": its loss terms need ${missing.join(' and ')}, which it was not given`);
  }
  const vocabSize = spec.model.model.config.vocabSize;
  return async (examples, extras = {}) => {
    const batch = encodeBatch(examples, spec.codec, spec.promptLoss);
    const bt = batchTensors(batch);
    const targets = useTargets ? await spec.cache!.targets(examples, batch) : undefined;
    const teacherHidden = useHidden ? alignedTeacherHidden(spec.teacher!, spec.model, bt) : undefined;
    let parts: Record<string, tf.Scalar> = {};
    return {
      tokens: batch.tokens,
      value: () => {
        const out = forwardTokens(spec.model.model, bt.ids, {
          attentionMask: bt.attention,
          mask: extras.mask?.(),
          outputHidden: useHidden,
          labels: bt.labels,
          topIds: targets?.ids,
          trainHead: spec.trainHead,
          chunkTokens: spec.headChunkTokens,
          recompute: spec.recompute,
        });
        const tokenWeights = spec.weighting ? spec.weighting.weights(bt.active, targets, vocabSize) : bt.active;
        const x: LossInputs = {
          student: out.student,
          labels: bt.labels,
          active: bt.active,
          tokenWeights,
          vocabSize,
          targets,
          hidden: out.hidden,
          teacherHidden,
        };
        const r = combineLosses(spec.loss, (t) => t.compute(x));
        parts = Object.fromEntries(Object.entries(r.parts).map(([k, v]) => [k, tf.keep(v.clone())]));
        return r.total;
      },
      terms: () => parts,
      info: extras.info,
      progress: extras.progress,
      dispose: () => {
        extras.dispose?.();
        [...Object.values(bt), ...Object.values(parts), ...(teacherHidden ?? [])].forEach((t) => t.dispose());
        if (targets) disposeTargets(targets);
      },
    };
  };
}

/** The teacher's hidden states at the blocks the student kept (student block j ↔ teacher block keptLayers[j]). */
function alignedTeacherHidden(
  teacher: ModelHandle,
  student: ModelHandle,
  bt: { ids: tf.Tensor2D; attention: tf.Tensor2D },
) {
  return tf.tidy(() => {
    const hs = teacher.model.forward(bt.ids, { attentionMask: bt.attention, outputHidden: true }).hidden!;
    const teacherLayers = teacher.model.source.keptLayers;
    return student.model.source.keptLayers.map((orig) => hs[teacherLayers.indexOf(orig) + 1]);
  });
}
