import * as tf from '@tensorflow/tfjs-core';
import { UserError, yieldToTimers, type Logger, type Progress, type Rng } from '@e3/core';
import { AdamW, globalNormScale, warmupCosine } from './adamw.js';
import { loadState, saveState } from './checkpoint-state.js';
import type { StepLoss } from '../loss/loss-inputs.js';

/** Optimiser and schedule settings shared by the trainer, the distiller and the mask search. */
export interface OptimParams {
  steps: number;
  lr: number;
  warmupSteps: number;
  minLrRatio: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  clipNorm: number;
  /** Stop once this many tokens were consumed (0 = no budget). */
  maxTokens: number;
  checkpointEvery: number;
  logEvery: number;
}

/** JSON Schema of {@link OptimParams}, merged into each training node's params. */
export function optimSchema(defaults: Partial<OptimParams>): Record<string, unknown> {
  const d = {
    lr: 1e-3,
    warmupSteps: 0,
    minLrRatio: 0.1,
    weightDecay: 0,
    beta1: 0.9,
    beta2: 0.999,
    clipNorm: 1,
    maxTokens: 0,
    checkpointEvery: 100,
    logEvery: 25,
    ...defaults,
  };
  return {
    steps: { type: 'integer', minimum: 1, default: d.steps ?? 100, description: 'optimiser steps' },
    lr: { type: 'number', exclusiveMinimum: 0, default: d.lr, description: 'peak learning rate' },
    warmupSteps: { type: 'integer', minimum: 0, default: d.warmupSteps, description: 'linear warm-up steps' },
    minLrRatio: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: d.minLrRatio,
      description: 'final lr as a fraction of the peak (cosine decay)',
    },
    weightDecay: {
      type: 'number',
      minimum: 0,
      default: d.weightDecay,
      description: 'AdamW decoupled weight decay (matrices only)',
    },
    beta1: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: d.beta1 },
    beta2: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: d.beta2 },
    clipNorm: { type: 'number', minimum: 0, default: d.clipNorm, description: 'global gradient-norm clip (0 = off)' },
    maxTokens: {
      type: 'integer',
      minimum: 0,
      default: d.maxTokens,
      description: 'token budget; stops early when reached (0 = none)',
    },
    checkpointEvery: {
      type: 'integer',
      minimum: 0,
      default: d.checkpointEvery,
      description: 'steps between checkpoints (0 = never)',
    },
    logEvery: { type: 'integer', minimum: 1, default: d.logEvery, description: 'steps between metric records' },
  };
}

/** One recorded step. */
export interface StepMetrics {
  /** The step, from 0. */
  step: number;
  /** The total loss Σ weight × term of the step's batch. */
  loss: number;
  /** The learning rate the step used. */
  lr: number;
  /** The gradient's global L2 norm before clipping. */
  gradNorm: number;
  /** Tokens trained on so far. */
  tokens: number;
  /** Each loss term by name, unweighted, and the step's schedule values (search: `tau`, `k`, …). */
  [term: string]: number;
}

export interface TrainLoopArgs {
  readonly vars: tf.Variable[];
  readonly params: OptimParams;
  /** Loss of batch `step`; also returns the tokens it used and per-term values to record. */
  readonly loss: (step: number) => Promise<StepLoss>;
  /** Where checkpoints go (undefined: none). */
  readonly checkpointDir?: string;
  readonly resume: boolean;
  readonly rng?: Rng;
  /** Extra state to save and restore with each checkpoint. */
  readonly extraState?: { save(): Record<string, unknown>; load(json: Record<string, unknown>): void };
  readonly logger: Logger;
  readonly progress: Progress;
  readonly task: string;
  /** What the loop does, for the progress line (e.g. "distilling into the pruned model"). */
  readonly what?: string;
  readonly signal: AbortSignal;
  /** Awaited after every step, before a checkpoint (e.g. periodic evaluation). */
  readonly afterStepAsync?: (step: number) => Promise<void>;
}

/**
 * The loss of a step's batch and its gradient with respect to `vars` (in their order): with
 * micro-batches, each one's gradient is taken under its own tape and added to the sum of those
 * before it (at most the sum and one micro-batch's gradients exist at a time), so the result is the
 * whole batch's gradient up to float summation order. A non-finite loss stops the sum (the caller
 * refuses it).
 */
export async function stepGradients(
  batch: StepLoss,
  vars: readonly tf.Variable[],
): Promise<{ loss: number; grads: tf.Tensor[] }> {
  let loss = 0;
  let sum: tf.Tensor[] | undefined;
  for (let i = 0; i < (batch.micro ?? 1); i++) {
    // Between micro-batches (a minute each at real sizes) timers and signal handlers get to run:
    // the progress heartbeat, and a stop that the loop then sees after this step.
    if (i > 0) await yieldToTimers();
    await batch.prepare?.(i);
    const { value, grads } = tf.variableGrads(() => batch.value(i), vars as tf.Variable[]);
    batch.release?.(i);
    loss += (await value.data())[0];
    value.dispose();
    const ordered = vars.map((v) => grads[v.name]);
    if (!sum) sum = ordered;
    else
      sum = sum.map((s, j) => {
        const added = tf.add(s, ordered[j]);
        s.dispose();
        ordered[j].dispose();
        return added;
      });
    if (!Number.isFinite(loss)) break;
  }
  return { loss, grads: sum! };
}

/**
 * Which loss terms went non-finite in a batch whose loss did, when others stayed finite
 * (`term "x" is NaN (forwardKl 0.41 is finite)`); undefined when every term did (then a step too
 * large is the likelier cause) or the batch keeps no terms.
 */
async function nonFiniteTerms(batch: StepLoss): Promise<string | undefined> {
  const terms = batch.terms?.();
  if (!terms) return undefined;
  const values = await Promise.all(Object.entries(terms).map(async ([k, t]) => [k, (await t.data())[0]] as const));
  const bad = values.filter(([, v]) => !Number.isFinite(v));
  const good = values.filter(([, v]) => Number.isFinite(v));
  if (!bad.length || !good.length) return undefined;
  const named = bad.map(([k, v]) => `term "${k}" is ${v}`).join(', ');
  return `${named} (${good.map(([k, v]) => `${k} ${v.toPrecision(3)}`).join(', ')} finite)`;
}

/**
 * The step, tokens and metrics to go on from: those of the checkpoint in `a.checkpointDir` when the run
 * resumes and one is there (its weights, moments, RNG and extra state restored), else a fresh start.
 */
function resumeFrom(a: TrainLoopArgs, opt: AdamW): { start: number; tokens: number; metrics: StepMetrics[] } {
  const s = a.resume && a.checkpointDir ? loadState(a.checkpointDir) : undefined;
  if (!s) return { start: 0, tokens: 0, metrics: [] };
  a.vars.forEach((v, i) => {
    const t = s.tensors.get(`w.${i}`);
    if (!t)
      throw new UserError(
        `${a.checkpointDir}: checkpoint lacks w.${i}; it belongs to another model — delete it to start over`,
      );
    v.assign(t);
    t.dispose();
  });
  opt.load(
    s.step,
    a.vars.map((_, i) => s.tensors.get(`m.${i}`)!),
    a.vars.map((_, i) => s.tensors.get(`v.${i}`)!),
  );
  if (a.rng && Array.isArray(s.json.rng)) a.rng.setState(s.json.rng as number[]);
  a.extraState?.load(s.json);
  a.logger.info(`${a.task}: resumed at step ${s.step} from ${a.checkpointDir}`);
  return { start: s.step, tokens: Number(s.json.tokens ?? 0), metrics: (s.json.metrics ?? []) as StepMetrics[] };
}

/** The error that stops the loop at a non-finite loss, naming the terms that went so when others did not. */
async function nonFiniteLoss(
  a: TrainLoopArgs,
  batch: StepLoss,
  at: { loss: number; step: number; lr: number },
): Promise<UserError> {
  const blame = await nonFiniteTerms(batch);
  batch.dispose?.();
  const where = `${a.task}: non-finite loss (${at.loss}) at step ${at.step} (batch ${at.step})`;
  const checkpoint = `the last checkpoint is in ${a.checkpointDir ?? '(none)'}`;
  return new UserError(
    blame
      ? `${where}: ${blame}; the term's computation, not the learning rate (fix: check that term's code ` +
          `and the values it reads); ${checkpoint}`
      : `${where}; lower lr (now ${at.lr.toExponential(2)}) or check the data; ${checkpoint}`,
  );
}

/**
 * The shared optimisation loop: AdamW with warm-up + cosine, gradient accumulation over a
 * batch's micro-batches, global-norm clipping of the batch's gradient, a token budget, atomic
 * checkpoints every N steps (weights, moments, step, RNG and extra state),
 * exact resume, and a clear stop on a non-finite loss.
 */
export async function trainLoop(a: TrainLoopArgs): Promise<{ metrics: StepMetrics[]; tokens: number; steps: number }> {
  const p = a.params;
  const opt = new AdamW(a.vars, { beta1: p.beta1, beta2: p.beta2, eps: 1e-8, weightDecay: p.weightDecay });
  const { start, metrics, ...resumed } = resumeFrom(a, opt);
  let tokens = resumed.tokens;
  const save = async (step: number) => {
    if (!a.checkpointDir) return;
    const tensors = new Map<string, tf.Tensor>();
    a.vars.forEach((v, i) => {
      tensors.set(`w.${i}`, v);
      tensors.set(`m.${i}`, opt.m[i]);
      tensors.set(`v.${i}`, opt.v[i]);
    });
    await saveState(a.checkpointDir, step, tensors, {
      tokens,
      metrics,
      rng: a.rng?.getState(),
      ...a.extraState?.save(),
    });
  };
  const bar = a.progress.start(a.task, p.steps, { what: a.what, start });
  let step = start;
  try {
    for (; step < p.steps; step++) {
      if (a.signal.aborted) break;
      if (p.maxTokens > 0 && tokens >= p.maxTokens) {
        a.logger.info(`${a.task}: token budget ${p.maxTokens} reached at step ${step}`);
        break;
      }
      const batch = await a.loss(step);
      const lr = warmupCosine(step, p.steps, p.warmupSteps, p.lr, p.minLrRatio);
      const { loss: lossValue, grads: ordered } = await stepGradients(batch, a.vars);
      if (!Number.isFinite(lossValue)) {
        ordered.forEach((g) => g.dispose());
        throw await nonFiniteLoss(a, batch, { loss: lossValue, step, lr });
      }
      // Clipping sees the accumulated gradient: the whole batch's.
      const clipped = await globalNormScale(ordered, p.clipNorm);
      opt.apply(ordered, lr, clipped.scale);
      ordered.forEach((g) => g.dispose());
      tokens += batch.tokens;
      if (step % p.logEvery === 0 || step === p.steps - 1) {
        const row: StepMetrics = { step, loss: lossValue, lr, gradNorm: clipped.norm, tokens };
        for (const [k, t] of Object.entries(batch.terms?.() ?? {})) row[k] = (await t.data())[0];
        Object.assign(row, batch.info?.());
        metrics.push(row);
      }
      bar.tick(step + 1, { ...(batch.progress?.(lossValue) ?? { loss: lossValue }), lr });
      batch.dispose?.();
      await a.afterStepAsync?.(step);
      if (p.checkpointEvery > 0 && (step + 1) % p.checkpointEvery === 0) await save(step + 1);
      await new Promise((r) => setImmediate(r));
    }
    if (a.signal.aborted) await save(step);
    bar.done();
  } finally {
    opt.dispose();
  }
  return { metrics, tokens, steps: step };
}
