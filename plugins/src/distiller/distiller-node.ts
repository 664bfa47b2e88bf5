import { inject, injectable } from 'inversify';
import { once, pick, type GraphNode, type NodeContext, type PluginManifest } from '@e3/core';
import { EMPTY, merge } from 'rxjs';
import { heldoutCheck, type Dataset } from '../data/dataset.js';
import { stepSupplies } from '../loss/loss-inputs.js';
import { HEAD_CHUNK_SCHEMA } from '../model/chunked-head.js';
import { MEMORY_OPTIONS_SCHEMA } from '../trainer/memory-options.js';
import type { ModelHandle } from '../model/handle.js';
import { finishTrainingCopy, trainingCopy, type CopyTrainingParams } from '../trainer/training-copy.js';
import { EvalCurve } from './eval-curve.js';
import { checkDistillationInputs, coverageOf, describeCoverage } from './sanity-checks.js';
import type { PortInputs, Ports } from '../ports.js';
import type { TeacherCache } from '../teacher/topk-cache.js';
import { TrainingServices } from '../trainer/training-services.js';
import { optimSchema, trainLoop, type OptimParams } from '../trainer/train-loop.js';
import type { TokenWeighting } from '../weighting/weighting.js';
import { trainMetricsOf } from '../trainer/train-metrics.js';

interface Params extends OptimParams, CopyTrainingParams {
  weighting: TokenWeighting;
  evalEvery: number;
  evalExamples: number;
  maxNewTokens: number;
}

const inputs = {
  model: { type: 'Model', doc: 'the pruned student' },
  targets: { type: 'TeacherCache' },
  data: { type: 'Dataset' },
  teacher: { type: 'Model', optional: true, doc: 'only for loss.hiddenMse and KL in the eval curve' },
} as const satisfies Ports;

/**
 * `distiller.train` (E³ Stage 2): trains a copy of the pruned student against the teacher
 * cache with a weighted list of loss terms over the k+1 buckets and a token-weighting
 * component (teacher entropy by default), under a step and token budget. Optionally
 * records held-out accuracy and KL every `evalEvery` steps (the accuracy-vs-tokens curve).
 */
@injectable()
export class DistillerNode implements GraphNode<Params> {
  constructor(@inject(TrainingServices) private readonly services: TrainingServices) {}

  connect(ports: PortInputs<typeof inputs>, p: Params, ctx: NodeContext) {
    const check$ = p.evalEvery > 0 ? heldoutCheck(ports.data, p.evalExamples, 'distiller.train (evalEvery)') : EMPTY;
    const distil$ = once(ports, ['model', 'targets', 'data', 'teacher'], (v) => this.distil(v, p, ctx));
    const r$ = merge(check$, distil$);
    return { model: pick(r$, 'model'), metrics: pick(r$, 'metrics') };
  }

  private async distil(
    v: { model: ModelHandle; targets: TeacherCache; data: Dataset; teacher?: ModelHandle },
    p: Params,
    ctx: NodeContext,
  ) {
    const { targets: cache, data, teacher } = v;
    const log = this.services.log;
    await checkDistillationInputs(ctx.id, v.model, cache, data, teacher);
    const copy = trainingCopy(v.model, p, {
      ctx,
      plugin: 'distiller.train',
      log,
      teacherParts: { weighting: p.weighting, cache, teacher },
    });
    const h = copy.model;
    const held = p.evalEvery > 0 ? await data.heldout(p.evalExamples) : [];
    const curve = new EvalCurve(h, held, { teacher, maxNewTokens: p.maxNewTokens, signal: ctx.signal });
    if (p.evalEvery > 0 && !this.services.run.resume) await curve.evaluate(0);
    const coverage = cache.meterCoverage();
    const { metrics, tokens, steps } = await trainLoop({
      ...this.services.loopArgs(ctx),
      vars: copy.vars,
      params: p,
      what: `distilling into ${h.model.numLayers} layers`,
      extraState: curve.state,
      loss: async (s) => {
        await curve.catchUp();
        const loss = await copy.lossOf(await data.trainBatch(s, p.batchSize));
        curve.tokens += loss.tokens;
        return loss;
      },
      afterStepAsync:
        p.evalEvery > 0
          ? async (step: number) => {
              if ((step + 1) % p.evalEvery === 0 || step + 1 === p.steps) await curve.evaluate(step + 1);
            }
          : undefined,
    });
    coverage.close();
    const wallSeconds = finishTrainingCopy(copy, ctx, log);
    const topkCoverage = coverageOf(coverage, cache.k);
    if (topkCoverage) log.info(describeCoverage(topkCoverage));
    const accuracy = curve.points.at(-1)?.accuracy;
    const heldOut = accuracy !== undefined ? `, held-out exact match ${(accuracy * 100).toFixed(1)}%` : '';
    log.info(`distilled ${steps} steps, ${tokens} tokens, final loss ${metrics.at(-1)?.loss.toFixed(4)}${heldOut}`);
    return {
      model: h,
      metrics: {
        ...trainMetricsOf(ctx.id, { steps, tokens, wallSeconds, history: metrics }, p),
        evalCurve: curve.points,
        teacherCache: {
          fingerprint: cache.fingerprint,
          computed: cache.computed,
          reused: cache.reused,
          ...(topkCoverage ? { topkCoverage } : {}),
        },
      },
    };
  }
}

export const distillerManifest: PluginManifest = {
  key: 'distiller.train',
  doc: 'E³ Stage 2: entropy-aware adaptive distillation of the pruned student from the teacher cache.',
  inputs,
  supplies: stepSupplies(inputs),
  outputs: { model: { type: 'Model', doc: 'the recovered student' }, metrics: { type: 'TrainMetrics' } },
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...optimSchema({ steps: 500, lr: 1e-3, warmupSteps: 20, minLrRatio: 0.1 }),
      batchSize: {
        type: 'integer',
        minimum: 1,
        default: 64,
        description: 'examples per optimiser step (the effective batch; microBatch splits it, not its meaning)',
      },
      promptLoss: { type: 'boolean', default: false, description: 'distil on prompt tokens too (plain-text data)' },
      loss: {
        type: 'array',
        minItems: 1,
        items: { 'x-component': 'loss' },
        default: [{ component: 'loss.forwardKl' }],
        description: 'weighted loss terms',
      },
      weighting: { 'x-component': 'weighting', default: { component: 'weighting.teacherEntropy', beta: 1 } },
      headChunkTokens: HEAD_CHUNK_SCHEMA,
      ...MEMORY_OPTIONS_SCHEMA,
      evalEvery: {
        type: 'integer',
        minimum: 0,
        default: 0,
        description: 'held-out evaluation every N steps (0 = off)',
      },
      evalExamples: { type: 'integer', minimum: 1, default: 200 },
      maxNewTokens: { type: 'integer', minimum: 1, default: 8 },
    },
  },
  node: DistillerNode,
};
