import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '@e3/core';
import { encodeBatch, type TextCodec } from '../data/batch.js';
import { batchTensors } from '../data/batch-tensors.js';
import type { Example } from '../data/dataset.js';
import type { ModelHandle } from '../model/handle.js';
import { forwardTokens } from '../model/student-tokens.js';
import { disposeTargets, type TeacherCache, type TeacherTargets } from '../teacher/topk-cache.js';
import type { TokenWeighting } from '../weighting/weighting.js';
import type { LossTerm } from './loss-term.js';
import type { BuiltStepLoss, LossInputs } from './loss-inputs.js';

/** Sum of weight × term over a list of loss terms (the terms' own values returned too). */
export function combineLosses(
  terms: readonly LossTerm[],
  compute: (t: LossTerm) => tf.Scalar,
): { total: tf.Scalar; parts: Record<string, tf.Scalar> } {
  const parts: Record<string, tf.Scalar> = {};
  let total: tf.Scalar = tf.scalar(0);
  for (const t of terms) {
    const v = compute(t);
    if (v.rank !== 0) {
      const shape = `[${v.shape.join(', ')}]`;
      v.dispose();
      throw new UserError(
        `loss term "${t.name}" returned a tensor of shape ${shape}, not a scalar ` +
          '(fix: reduce its per-token values to one number, e.g. weightedMean(perToken, x.tokenWeights, tf))',
      );
    }
    parts[t.name] = v;
    total = tf.add(total, tf.mul(v, t.weight));
  }
  return { total, parts };
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
  /**
   * Examples per micro-batch (default: the whole batch): the batch is encoded, and its loss and
   * gradient taken, in parts of at most this many examples, each weighted by its share of the
   * batch's token weights so that the parts' gradients sum to the whole batch's.
   */
  readonly microBatch?: number;
  /** Per-token weights; none: every active token weighs 1. */
  readonly weighting?: TokenWeighting;
  /** Needed for `teacherTargets`. */
  readonly cache?: TeacherCache;
  /** Needed for `hiddenStates`. */
  readonly teacher?: ModelHandle;
}

/** Per-step additions of a caller (the mask search's sampled mask and schedule). */
export interface StepExtras {
  /**
   * Called under the tape: the layer mask of this step's forward pass. With micro-batches it is
   * called under each one's tape and must give the same mask each time (the step's one sample).
   */
  readonly mask?: () => tf.Tensor1D;
  readonly info?: () => Record<string, number>;
  /** What the progress line shows for this step (default: the loss). */
  readonly progress?: (loss: number) => Record<string, number | string>;
  /** Called when the step's tensors are freed. */
  readonly dispose?: () => void;
}

/** One micro-batch of a step: its tensors, targets, token weights and their sum. */
interface Micro {
  readonly tokens: number;
  readonly bt: ReturnType<typeof batchTensors>;
  targets?: TeacherTargets;
  tokenWeights: tf.Tensor2D;
  /** Σ token weights: this micro-batch's part of the loss normaliser. */
  normaliser: number;
  teacherHidden?: tf.Tensor3D[];
}

/**
 * The training step shared by `trainer.train`, `distiller.train` and `masker.search`: encode a
 * batch, build what the loss terms require (teacher targets, token weights, hidden states), then —
 * under the gradient tape — the student's forward pass and the weighted sum of the terms. Each
 * term's value is kept for the train loop's records; `dispose` frees the batch.
 *
 * Micro-batches (`microBatch`): every term is a mean over the batch's tokens weighted by the token
 * weights, Σ w·x / Σ w (loss-term.ts weightedMean). A micro-batch's terms are the same mean over
 * its own tokens, so its loss is scaled by its share of the batch's Σ w (not of the examples):
 * the parts then sum to the batch's loss, and their gradients to the batch's gradient.
 */
export function trainingStep(
  spec: TrainingStepSpec,
): (examples: readonly Example[], extras?: StepExtras) => Promise<BuiltStepLoss> {
  const needs = stepNeeds(spec);
  return async (examples, extras = {}) => {
    const size = Math.max(1, Math.min(spec.microBatch ?? examples.length, examples.length));
    const micro: Micro[] = [];
    try {
      for (let i = 0; i < examples.length; i += size)
        micro.push(await encodeMicro(spec, needs, examples.slice(i, i + size), size >= examples.length));
    } catch (e) {
      micro.forEach(freeMicro);
      throw e;
    }
    const normaliser = micro.reduce((a, m) => a + m.normaliser, 0);
    // Σ w = 0: every part's loss is 0 (weightedMean's floor), so any share gives the batch's 0.
    const shares = micro.map((m) => (micro.length === 1 ? 1 : normaliser > 0 ? m.normaliser / normaliser : 0));
    const prepare = async (i: number) => {
      const m = micro[i];
      if (needs.hidden && !m.teacherHidden) m.teacherHidden = alignedTeacherHidden(spec.teacher!, spec.model, m.bt);
    };
    const release = (i: number) => {
      micro[i].teacherHidden?.forEach((t) => t.dispose());
      micro[i].teacherHidden = undefined;
    };
    await prepare(0);
    const raw: Record<string, tf.Scalar>[] = []; // each micro-batch's terms
    let parts: Record<string, tf.Scalar> | undefined; // the batch's, once asked for
    return {
      tokens: micro.reduce((a, m) => a + m.tokens, 0),
      micro: micro.length,
      value: (i = 0) => {
        const m = micro[i];
        if (needs.hidden && !m.teacherHidden) throw new Error(`training step: micro-batch ${i} was not prepared`);
        const r = microLosses(spec, m, extras.mask?.(), needs.hidden);
        Object.values(raw[i] ?? {}).forEach((t) => t.dispose()); // a step's value taken again
        raw[i] = Object.fromEntries(Object.entries(r.parts).map(([k, v]) => [k, tf.keep(v.clone())]));
        return shares[i] === 1 ? r.total : tf.mul(r.total, shares[i]);
      },
      prepare,
      release,
      terms: () => (parts ??= batchTerms(raw, shares)),
      info: extras.info,
      progress: extras.progress,
      dispose: () => {
        extras.dispose?.();
        micro.forEach(freeMicro);
        [...raw.flatMap((r) => Object.values(r)), ...Object.values(parts ?? {})].forEach((t) => t.dispose());
      },
    };
  };
}

/** What a step's loss terms read beyond the student: the teacher cache's targets, the teacher's hidden states. */
interface StepNeeds {
  readonly targets: boolean;
  readonly hidden: boolean;
}

/** What `spec`'s terms need, refused when the node was not given it. */
function stepNeeds(spec: TrainingStepSpec): StepNeeds {
  const needs = new Set(spec.loss.flatMap((t) => t.requires));
  // With a cache wired, targets are read for every batch: the weighting may use them.
  const targets = needs.has('teacherTargets') || spec.cache !== undefined;
  const hidden = needs.has('hiddenStates');
  // `e3 validate` refuses such graphs (STEP_SUPPLIES); this guards callers from code.
  const missing = [
    targets && !spec.cache && 'teacherTargets (from a teacher cache)',
    hidden && !spec.teacher && 'hiddenStates (from the teacher model)',
  ].filter(Boolean);
  if (missing.length) {
    throw new UserError(`node "${spec.node}": its loss terms need ${missing.join(' and ')}, which it was not given`);
  }
  return { targets, hidden };
}

function freeMicro(m: Micro): void {
  [...Object.values(m.bt), ...(m.teacherHidden ?? [])].forEach((t) => t.dispose());
  if (m.tokenWeights && m.tokenWeights !== m.bt.active) m.tokenWeights.dispose();
  if (m.targets) disposeTargets(m.targets);
  m.teacherHidden = undefined;
}

/** One micro-batch's tensors, targets and token weights (`alone`: the whole batch, which needs no normaliser). */
async function encodeMicro(
  spec: TrainingStepSpec,
  needs: StepNeeds,
  examples: readonly Example[],
  alone: boolean,
): Promise<Micro> {
  const batch = encodeBatch(examples, spec.codec, spec.promptLoss);
  const m: Micro = { tokens: batch.tokens, bt: batchTensors(batch), tokenWeights: undefined!, normaliser: 1 };
  try {
    m.targets = needs.targets ? await spec.cache!.targets(examples, batch) : undefined;
    // Token weights need no gradient: made once, outside the tape.
    const vocabSize = spec.model.model.config.vocabSize;
    m.tokenWeights = spec.weighting ? spec.weighting.weights(m.bt.active, m.targets, vocabSize) : m.bt.active;
    // A whole batch needs no share of the normaliser (and no read-back).
    if (!alone) m.normaliser = await sumOf(m.tokenWeights);
    return m;
  } catch (e) {
    freeMicro(m);
    throw e;
  }
}

/** Under the tape: micro-batch `m`'s forward pass (with the step's layer `mask`) and its weighted loss terms. */
function microLosses(spec: TrainingStepSpec, m: Micro, mask: tf.Tensor1D | undefined, hidden: boolean) {
  const out = forwardTokens(spec.model.model, m.bt.ids, {
    attentionMask: m.bt.attention,
    mask,
    outputHidden: hidden,
    labels: m.bt.labels,
    topIds: m.targets?.ids,
    trainHead: spec.trainHead,
    chunkTokens: spec.headChunkTokens,
    recompute: spec.recompute,
  });
  const x: LossInputs = {
    student: out.student,
    labels: m.bt.labels,
    active: m.bt.active,
    tokenWeights: m.tokenWeights,
    vocabSize: spec.model.model.config.vocabSize,
    targets: m.targets,
    hidden: out.hidden,
    teacherHidden: m.teacherHidden,
  };
  return combineLosses(spec.loss, (t) => t.compute(x));
}

/** The batch's value of each term: the micro-batches' values (`raw`) weighted by their `shares`. */
function batchTerms(raw: readonly Record<string, tf.Scalar>[], shares: readonly number[]): Record<string, tf.Scalar> {
  return tf.tidy(() =>
    Object.fromEntries(
      Object.keys(raw[0] ?? {}).map((k) => [
        k,
        tf.keep(
          (raw.length === 1 ? raw[0][k].clone() : tf.addN(raw.map((r, i) => tf.mul(r[k], shares[i])))) as tf.Scalar,
        ),
      ]),
    ),
  );
}

/** A tensor's sum, read back (float64 in JavaScript). */
async function sumOf(t: tf.Tensor): Promise<number> {
  const s = tf.sum(t);
  const v = (await s.data())[0];
  s.dispose();
  return v;
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
