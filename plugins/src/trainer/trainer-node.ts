import { inject, injectable } from 'inversify';
import * as tf from '@tensorflow/tfjs-core';
import { once, pick, UserError, type GraphNode, type NodeContext, type PluginManifest } from '@e3/core';
import { describeCuts, encodeBatch, textCodec } from '../data/batch.js';
import type { Dataset } from '../data/dataset.js';
import type { LossTerm } from '../loss/loss-term.js';
import { HEAD_CHUNK_SCHEMA } from '../model/chunked-head.js';
import { forwardTokens } from '../model/student-tokens.js';
import { cloneHandle, type ModelHandle } from '../model/handle.js';
import { TrainingServices } from './training-services.js';
import { batchTensors } from './batch-tensors.js';
import { optimSchema, trainLoop, type OptimParams, type StepMetrics } from './train-loop.js';

interface Params extends OptimParams {
  batchSize: number; loss: LossTerm[]; promptLoss: boolean; headChunkTokens: number;
}

/** What the trainer reports on its `metrics` port. */
export interface TrainMetrics { node: string; steps: number; tokens: number; wallSeconds: number; history: StepMetrics[] }

/** Sum of weight × term over a list of loss terms (the terms' own values returned too). */
export function combineLosses(terms: readonly LossTerm[], compute: (t: LossTerm) => tf.Scalar): { total: tf.Scalar; parts: Record<string, tf.Scalar> } {
  const parts: Record<string, tf.Scalar> = {};
  let total: tf.Scalar = tf.scalar(0);
  for (const t of terms) {
    const v = compute(t);
    parts[t.name] = v;
    total = tf.add(total, tf.mul(v, t.weight));
  }
  return { total, parts };
}

/** `trainer.train`: trains a copy of a model's weights on a dataset against weighted loss terms. */
@injectable()
export class TrainerNode implements GraphNode<Params> {
  constructor(@inject(TrainingServices) private readonly services: TrainingServices) {}

  connect(inputs: Record<string, any>, p: Params, ctx: NodeContext) {
    const result$ = once(inputs, ['model', 'data'], ({ model, data }) => this.train(model, data, p, ctx));
    return { model: pick(result$, 'model'), metrics: pick(result$, 'metrics') };
  }

  private async train(base: ModelHandle, data: Dataset, p: Params, ctx: NodeContext): Promise<{ model: ModelHandle; metrics: TrainMetrics }> {
    const teacherTerms = p.loss.filter((t) => t.needsTeacher).map((t) => t.name);
    if (teacherTerms.length) throw new UserError(`loss terms ${teacherTerms.join(', ')} need teacher targets; use distiller.train for them`);
    const codec = textCodec(base, 'trainer.train');
    const h = cloneHandle(base);
    const t0 = performance.now();
    const vocabSize = h.model.config.vocabSize;
    const { metrics, tokens, steps } = await trainLoop({
      vars: h.model.variables(), params: p, resume: this.services.run.resume, rng: this.services.rng,
      checkpointDir: this.services.store.checkpointDir(ctx.id), logger: this.services.log, progress: this.services.progress, task: ctx.id, signal: ctx.signal,
      loss: async (step) => {
        const batch = encodeBatch(await data.trainBatch(step, p.batchSize), codec, p.promptLoss);
        const bt = batchTensors(batch);
        let parts: Record<string, tf.Scalar> = {};
        return {
          tokens: batch.tokens,
          value: () => {
            const { student } = forwardTokens(h.model, bt.ids, {
              attentionMask: bt.attention, labels: bt.labels, trainHead: true, chunkTokens: p.headChunkTokens,
            });
            const x = { student, labels: bt.labels, active: bt.active, tokenWeights: bt.active, vocabSize };
            const r = combineLosses(p.loss, (t) => t.compute(x));
            parts = Object.fromEntries(Object.entries(r.parts).map(([k, v]) => [k, tf.keep(v.clone())]));
            return r.total;
          },
          terms: () => parts,
          dispose: () => [...Object.values(bt), ...Object.values(parts)].forEach((t) => t.dispose()),
        };
      },
    });
    if (ctx.signal.aborted) { h.dispose(); throw new UserError('cancelled'); }
    const last = metrics[metrics.length - 1];
    this.services.log.info(`trained ${steps} steps, ${tokens} tokens, final loss ${last?.loss.toFixed(4)}`);
    const cuts = describeCuts(codec);
    if (cuts) this.services.log.info(cuts);
    return { model: h, metrics: { node: ctx.id, steps, tokens, wallSeconds: (performance.now() - t0) / 1000, history: metrics } };
  }
}

export const trainerManifest: PluginManifest = {
  key: 'trainer.train',
  doc: 'Trains a copy of a model on a dataset against a weighted list of loss terms (AdamW, warm-up + cosine, clipping, checkpoints, resume).',
  inputs: { model: { type: 'Model' }, data: { type: 'Dataset' } },
  outputs: { model: { type: 'Model', doc: 'the trained copy' }, metrics: { type: 'TrainMetrics' } },
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...optimSchema({ steps: 1000, lr: 2e-3, warmupSteps: 100 }),
      batchSize: { type: 'integer', minimum: 1, default: 64, description: 'examples per step' },
      promptLoss: { type: 'boolean', default: false, description: 'also train on prompt tokens (plain-text data)' },
      headChunkTokens: HEAD_CHUNK_SCHEMA,
      loss: { type: 'array', minItems: 1, items: { 'x-component': 'loss' }, default: [{ component: 'loss.crossEntropy' }], description: 'weighted loss terms' },
    },
  },
  node: TrainerNode,
};
