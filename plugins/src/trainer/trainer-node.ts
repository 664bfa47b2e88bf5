import { inject, injectable } from 'inversify';
import { once, pick, type GraphNode, type NodeContext, type PluginManifest } from '@e3/core';
import type { Dataset } from '../data/dataset.js';
import { stepSupplies } from '../loss/loss-inputs.js';
import { trainMetricsOf } from './train-metrics.js';
import { HEAD_CHUNK_SCHEMA } from '../model/chunked-head.js';
import { MEMORY_OPTIONS_SCHEMA } from './memory-options.js';
import type { ModelHandle } from '../model/handle.js';
import { finishTrainingCopy, trainingCopy, type CopyTrainingParams } from './training-copy.js';
import type { PortInputs, Ports } from '../ports.js';
import { TrainingServices } from './training-services.js';
import { optimSchema, trainLoop, type OptimParams } from './train-loop.js';

type Params = OptimParams & CopyTrainingParams;

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
    const log = this.services.log;
    const copy = trainingCopy(base, p, { ctx, plugin: 'trainer.train', log });
    const { metrics, tokens, steps } = await trainLoop({
      ...this.services.loopArgs(ctx),
      vars: copy.vars,
      params: p,
      loss: async (s) => copy.lossOf(await data.trainBatch(s, p.batchSize)),
    });
    const wallSeconds = finishTrainingCopy(copy, ctx, log);
    log.info(`trained ${steps} steps, ${tokens} tokens, final loss ${metrics.at(-1)?.loss.toFixed(4)}`);
    const result = trainMetricsOf(ctx.id, { steps, tokens, wallSeconds, history: metrics }, p);
    return { model: copy.model, metrics: result };
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
