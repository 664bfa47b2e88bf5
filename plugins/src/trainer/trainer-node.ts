import { inject, injectable } from 'inversify';
import { CancelledError, once, pick, type GraphNode, type NodeContext, type PluginManifest } from '@e3/core';
import { describeCuts, textCodec } from '../data/batch.js';
import type { Dataset } from '../data/dataset.js';
import type { LossTerm } from '../loss/loss-term.js';
import { stepSupplies } from '../loss/loss-inputs.js';
import { trainingStep } from '../loss/training-step.js';
import { lrScheduleOf, type TrainMetrics } from './train-metrics.js';
import { HEAD_CHUNK_SCHEMA } from '../model/chunked-head.js';
import {
  describeStepMemory,
  MEMORY_OPTIONS_SCHEMA,
  stepMemory,
  trainableVariables,
  type Auto,
  type FrozenPart,
} from './memory-options.js';
import { cloneHandle, type ModelHandle } from '../model/handle.js';
import type { PortInputs, Ports } from '../ports.js';
import { TrainingServices } from './training-services.js';
import { optimSchema, trainLoop, type OptimParams } from './train-loop.js';

interface Params extends OptimParams {
  batchSize: number;
  loss: LossTerm[];
  promptLoss: boolean;
  headChunkTokens: number;
  gradientCheckpointing: Auto<boolean>;
  microBatch: Auto<number>;
  freeze: FrozenPart[];
}

const inputs = { model: { type: 'Model' }, data: { type: 'Dataset' } } as const satisfies Ports;

/** `trainer.train`: trains a copy of a model's weights on a dataset against weighted loss terms. */
@injectable()
export class TrainerNode implements GraphNode<Params> {
  constructor(@inject(TrainingServices) private readonly services: TrainingServices) {}

  connect(ports: PortInputs<typeof inputs>, p: Params, ctx: NodeContext) {
    const result$ = once(ports, ['model', 'data'], ({ model, data }) => this.train(model, data, p, ctx));
    return { model: pick(result$, 'model'), metrics: pick(result$, 'metrics') };
  }

  private async train(base: ModelHandle, data: Dataset, p: Params, ctx: NodeContext) {
    const codec = textCodec(base, 'trainer.train');
    const h = cloneHandle(base);
    const trainable = trainableVariables(h.model, p.freeze);
    if (trainable.frozen.length) this.services.log.info(`frozen (not trained): ${trainable.frozen.join(', ')}`);
    const memory = stepMemory(p, p.batchSize);
    const described = describeStepMemory(memory, p.batchSize);
    if (described) this.services.log.info(described);
    const t0 = performance.now();
    const lossOf = trainingStep({
      node: ctx.id,
      model: h,
      codec,
      loss: p.loss,
      promptLoss: p.promptLoss,
      trainHead: trainable.trainHead,
      headChunkTokens: p.headChunkTokens,
      ...memory,
    });
    const { metrics, tokens, steps } = await trainLoop({
      ...this.services.loopArgs(ctx),
      vars: trainable.vars,
      params: p,
      loss: async (s) => lossOf(await data.trainBatch(s, p.batchSize)),
    });
    if (ctx.signal.aborted) {
      h.dispose();
      throw new CancelledError();
    }
    const last = metrics[metrics.length - 1];
    this.services.log.info(`trained ${steps} steps, ${tokens} tokens, final loss ${last?.loss.toFixed(4)}`);
    const cuts = describeCuts(codec);
    if (cuts) this.services.log.info(cuts);
    const wallSeconds = (performance.now() - t0) / 1000;
    const result: TrainMetrics = {
      node: ctx.id,
      steps,
      tokens,
      wallSeconds,
      lrSchedule: lrScheduleOf(p),
      history: metrics,
    };
    return { model: h, metrics: result };
  }
}

export const trainerManifest: PluginManifest = {
  key: 'trainer.train',
  doc:
    'Trains a copy of a model on a dataset against a weighted list of loss terms ' +
    '(AdamW, warm-up + cosine, clipping, checkpoints, resume).',
  inputs,
  outputs: { model: { type: 'Model', doc: 'the trained copy' }, metrics: { type: 'TrainMetrics' } },
  supplies: stepSupplies(inputs),
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...optimSchema({ steps: 1000, lr: 2e-3, warmupSteps: 100 }),
      batchSize: {
        type: 'integer',
        minimum: 1,
        default: 64,
        description: 'examples per optimiser step (the effective batch; microBatch splits it, not its meaning)',
      },
      promptLoss: { type: 'boolean', default: false, description: 'also train on prompt tokens (plain-text data)' },
      headChunkTokens: HEAD_CHUNK_SCHEMA,
      ...MEMORY_OPTIONS_SCHEMA,
      loss: {
        type: 'array',
        minItems: 1,
        items: { 'x-component': 'loss' },
        default: [{ component: 'loss.crossEntropy' }],
        description: 'weighted loss terms',
      },
    },
  },
  node: TrainerNode,
};
