import { inject, injectable } from 'inversify';
import { resolve } from 'node:path';
import {
  LOGGER,
  once,
  PROGRESS,
  trackProgress,
  type GraphNode,
  type Logger,
  type NodeContext,
  type PluginManifest,
  type Progress,
} from '@e3/core';
import { describeCuts } from '../data/batch.js';
import { HEAD_CHUNK_SCHEMA } from '../model/chunked-head.js';
import { TeacherCache } from './topk-cache.js';
import type { PortInputs, Ports } from '../ports.js';

interface Params {
  k: number;
  dir: string;
  calibration: number;
  heldout: number;
  batchSize: number;
  headChunkTokens: number;
}

const inputs = { model: { type: 'Model', doc: 'the teacher' }, data: { type: 'Dataset' } } as const satisfies Ports;

/** `teacher.topkCache`: the frozen teacher's top-k targets, computed once and reused. */
@injectable()
export class TopkCacheNode implements GraphNode<Params> {
  constructor(
    @inject(LOGGER) private readonly log: Logger,
    @inject(PROGRESS) private readonly progress: Progress,
  ) {}

  connect(ports: PortInputs<typeof inputs>, p: Params, ctx: NodeContext) {
    return {
      targets: once(ports, ['model', 'data'], async ({ model, data }) => {
        const cache = await TeacherCache.open(model, data.fingerprint, p.k, resolve(p.dir), {
          batchSize: p.batchSize,
          chunkTokens: p.headChunkTokens,
        });
        const before = cache.cachedExamples;
        const examples = [...(await data.calibration(p.calibration)), ...(await data.heldout(p.heldout))];
        const what = `teacher top-${p.k} logits`;
        try {
          await cache.ensure(examples, trackProgress(this.progress, ctx.id, { unit: 'examples', what }), ctx.signal);
        } catch (e) {
          cache.dispose(); // a stopped run keeps the records written so far, for the next run
          throw e;
        }
        this.log.info(
          `teacher cache ${cache.fingerprint}: k=${p.k}, ${before} examples reused, ${cache.computed} computed now (more are added on demand)`,
        );
        const cuts = describeCuts(cache.codec);
        if (cuts) this.log.info(cuts);
        return cache;
      }),
    };
  }
}

export const topkCacheManifest: PluginManifest = {
  key: 'teacher.topkCache',
  doc: 'Runs the frozen teacher once per example; stores top-k ids/log-probs and entropy per token on disk (reused across runs).',
  inputs,
  outputs: { targets: { type: 'TeacherCache' } },
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      k: { type: 'integer', minimum: 1, default: 10, description: 'top-k ids kept per token' },
      dir: {
        type: 'string',
        default: '.e3-cache/teacher',
        description: 'cache directory (shared across runs; keyed by teacher, data and k)',
      },
      calibration: {
        type: 'integer',
        minimum: 0,
        default: 256,
        description: 'calibration examples to compute up front',
      },
      heldout: { type: 'integer', minimum: 0, default: 256, description: 'held-out examples to compute up front' },
      batchSize: { type: 'integer', minimum: 1, default: 128, description: 'teacher batch size' },
      headChunkTokens: HEAD_CHUNK_SCHEMA,
    },
  },
  node: TopkCacheNode,
};
