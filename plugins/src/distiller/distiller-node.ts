import { inject, injectable } from 'inversify';
import { CancelledError, once, pick, type GraphNode, type NodeContext, type PluginManifest } from '@e3/core';
import { EMPTY, merge } from 'rxjs';
import { describeCuts, textCodec } from '../data/batch.js';
import { heldoutCheck, type Dataset } from '../data/dataset.js';
import { exactMatch, heldoutLikelihood } from '../evaluator/quality.js';
import type { LossTerm } from '../loss/loss-term.js';
import { stepSupplies } from '../loss/loss-inputs.js';
import { trainingStep } from '../loss/training-step.js';
import { HEAD_CHUNK_SCHEMA } from '../model/chunked-head.js';
import {
  describeStepMemory,
  MEMORY_OPTIONS_SCHEMA,
  stepMemory,
  trainableVariables,
  type Auto,
  type FrozenPart,
} from '../trainer/memory-options.js';
import { cloneHandle, type ModelHandle } from '../model/handle.js';
import { checkDistillationInputs, coverageOf, describeCoverage } from './sanity-checks.js';
import type { PortInputs, Ports } from '../ports.js';
import type { TeacherCache } from '../teacher/topk-cache.js';
import { TrainingServices } from '../trainer/training-services.js';
import { optimSchema, trainLoop, type OptimParams } from '../trainer/train-loop.js';
import type { TokenWeighting } from '../weighting/weighting.js';
import { lrScheduleOf } from '../trainer/train-metrics.js';

interface Params extends OptimParams {
  batchSize: number;
  loss: LossTerm[];
  weighting: TokenWeighting;
  promptLoss: boolean;
  headChunkTokens: number;
  gradientCheckpointing: Auto<boolean>;
  microBatch: Auto<number>;
  freeze: FrozenPart[];
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
    const distil$ = once(ports, ['model', 'targets', 'data', 'teacher'], (v) =>
      this.distil(v.model, v.targets, v.data, v.teacher, p, ctx),
    );
    const r$ = merge(check$, distil$);
    return { model: pick(r$, 'model'), metrics: pick(r$, 'metrics') };
  }

  private async distil(
    base: ModelHandle,
    cache: TeacherCache,
    data: Dataset,
    teacher: ModelHandle | undefined,
    p: Params,
    ctx: NodeContext,
  ) {
    const codec = textCodec(base, 'distiller.train');
    await checkDistillationInputs(ctx.id, base, cache, data, teacher);
    const h = cloneHandle(base);
    const trainable = trainableVariables(h.model, p.freeze);
    if (trainable.frozen.length) this.services.log.info(`frozen (not trained): ${trainable.frozen.join(', ')}`);
    const memory = stepMemory(p, p.batchSize);
    const described = describeStepMemory(memory, p.batchSize);
    if (described) this.services.log.info(described);
    const t0 = performance.now();
    const held = p.evalEvery > 0 ? await data.heldout(p.evalExamples) : [];
    const evalCurve: Record<string, number>[] = [];
    let tokensSoFar = 0;
    // An evaluation that a stop interrupted, done first when the run resumes (the weights are the same).
    let evalDue: number | undefined;
    const evaluate = async (step: number) => {
      let em, lik;
      try {
        em = await exactMatch(h, held, p.maxNewTokens, undefined, undefined, ctx.signal);
        lik = await heldoutLikelihood(h, held, teacher, { signal: ctx.signal });
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        evalDue = step; // the train loop then stops and saves its checkpoint with it
        return;
      }
      evalCurve.push({
        step,
        tokens: tokensSoFar,
        n: em.answered,
        ...(em.accuracy !== undefined ? { accuracy: em.accuracy } : {}),
        perplexity: lik.perplexity,
        ...(lik.kl !== undefined ? { kl: lik.kl } : {}),
      });
    };
    if (p.evalEvery > 0 && !this.services.run.resume) await evaluate(0);
    const lossOf = trainingStep({
      node: ctx.id,
      model: h,
      codec,
      loss: p.loss,
      weighting: p.weighting,
      cache,
      teacher,
      promptLoss: p.promptLoss,
      trainHead: trainable.trainHead,
      headChunkTokens: p.headChunkTokens,
      ...memory,
    });
    const coverage = cache.meterCoverage();
    const { metrics, tokens, steps } = await trainLoop({
      ...this.services.loopArgs(ctx),
      vars: trainable.vars,
      params: p,
      what: `distilling into ${h.model.numLayers} layers`,
      extraState: {
        save: () => ({ evalCurve, tokensSoFar, evalDue }),
        load: (j) => {
          evalCurve.push(...((j.evalCurve ?? []) as Record<string, number>[]));
          tokensSoFar = Number(j.tokensSoFar ?? 0);
          evalDue = typeof j.evalDue === 'number' ? j.evalDue : undefined;
        },
      },
      loss: async (s) => {
        if (evalDue !== undefined) {
          const due = evalDue;
          evalDue = undefined;
          await evaluate(due);
          if (evalDue !== undefined) throw new CancelledError(); // stopped again: the checkpoint still has it
        }
        const loss = await lossOf(await data.trainBatch(s, p.batchSize));
        tokensSoFar += loss.tokens;
        return loss;
      },
      afterStepAsync:
        p.evalEvery > 0
          ? async (step: number) => {
              if ((step + 1) % p.evalEvery === 0 || step + 1 === p.steps) await evaluate(step + 1);
            }
          : undefined,
    });
    coverage.close();
    if (ctx.signal.aborted) {
      h.dispose();
      throw new CancelledError();
    }
    const topkCoverage = coverageOf(coverage, cache.k);
    if (topkCoverage) this.services.log.info(describeCoverage(topkCoverage));
    const last = metrics[metrics.length - 1];
    const cuts = describeCuts(codec);
    if (cuts) this.services.log.info(cuts);
    this.services.log.info(
      `distilled ${steps} steps, ${tokens} tokens, final loss ${last?.loss.toFixed(4)}${evalCurve.at(-1)?.accuracy !== undefined ? `, held-out exact match ${(evalCurve.at(-1)!.accuracy * 100).toFixed(1)}%` : ''}`,
    );
    return {
      model: h,
      metrics: {
        node: ctx.id,
        steps,
        tokens,
        wallSeconds: (performance.now() - t0) / 1000,
        lrSchedule: lrScheduleOf(p),
        history: metrics,
        evalCurve,
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
