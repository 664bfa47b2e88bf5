import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject, injectable } from 'inversify';
import * as tf from '@tensorflow/tfjs-core';
import {
  CancelledError,
  once,
  pick,
  UserError,
  writeFileAtomic,
  type GraphNode,
  type NodeContext,
  type PluginManifest,
  type Rng,
} from '@e3/core';
import { textCodec } from '../data/batch.js';
import { stepIndexedBatches, type Dataset, type Example } from '../data/dataset.js';
import type { LayerImportance } from '../importance/importance.js';
import type { MaskEvaluator } from '../importance/mask-evaluator.js';
import type { LossTerm } from '../loss/loss-term.js';
import { stepSupplies, type BuiltStepLoss } from '../loss/loss-inputs.js';
import { trainingStep } from '../loss/training-step.js';
import type { RestartResult, SearchMetrics } from './search-metrics.js';
import { hardTopK } from '../maths/relaxed-topk.js';
import { HEAD_CHUNK_SCHEMA } from '../model/chunked-head.js';
import { CHECKPOINTING_SCHEMA, MICRO_BATCH_SCHEMA, stepMemory, type Auto } from '../trainer/memory-options.js';
import type { ModelHandle } from '../model/handle.js';
import { originalLayer, type LayerMaskResult } from '../model/layer-mask.js';
import type { PortInputs, Ports } from '../ports.js';
import type { MaskSampler } from '../sampler/sampler.js';
import { annealSchema } from '../sampler/sampler.js';
import type { TeacherCache } from '../teacher/topk-cache.js';
import { TrainingServices } from '../trainer/training-services.js';
import { trainLoop } from '../trainer/train-loop.js';
import type { TokenWeighting } from '../weighting/weighting.js';
import {
  calibrationEvaluator,
  calibrationSchema,
  finishMask,
  trackMasks,
  type CalibrationParams,
} from './masker-common.js';
import { keepCount, type PruneAmount } from './prune-amount.js';
import { refineBudget, swapRefine, swapsPerRound } from './swap-refine.js';
import { scheduleAt, standardise, type SearchSchedule } from './search-schedule.js';

interface Params extends CalibrationParams, PruneAmount, SearchSchedule {
  steps: number;
  lr: number;
  searchBatchSize: number;
  sampler: MaskSampler;
  init: LayerImportance;
  initScale: number;
  loss: LossTerm[];
  weighting: TokenWeighting;
  headChunkTokens: number;
  gradientCheckpointing: Auto<boolean>;
  microBatch: Auto<number>;
  restarts: number;
  refineRounds: number;
  refineSwaps: number | 'auto';
  refineBudget: number;
  window: number;
  candidates: number;
  checkpointEvery: number;
}

/** What one restart of the search works with. */
interface RestartArgs {
  /** Restart index (its RNG stream and checkpoint directory). */
  readonly index: number;
  /** Initial mask logits. */
  readonly alpha0: number[];
  readonly model: ModelHandle;
  readonly calibration: Example[];
  readonly cache: TeacherCache;
  /** Scores the candidate masks. */
  readonly evaluator: MaskEvaluator;
  /** Params, with the batch size clamped to the calibration set. */
  readonly params: Params;
  /** Layers to keep. */
  readonly keep: number;
  readonly ctx: NodeContext;
}

const inputs = {
  model: { type: 'Model' },
  data: { type: 'Dataset' },
  targets: { type: 'TeacherCache' },
} as const satisfies Ports;

/**
 * `masker.search`: the E³ Stage 1 search. Only the L mask logits α train (Adam), the model
 * is frozen; each step samples a straight-through mask with the sampler component at
 * temperature τ_t and keep-count K_t (curriculum), and the loss terms compare the masked
 * model with the teacher cache on calibration batches. Reliability (ours): the candidates
 * TopK(α), TopK(keep probability) and the most frequent hard masks of the last steps are
 * scored by calibration KL, over `restarts` independent runs, and the best is returned.
 */
@injectable()
export class SearchNode implements GraphNode<Params> {
  constructor(@inject(TrainingServices) private readonly services: TrainingServices) {}

  connect(ports: PortInputs<typeof inputs>, p: Params, ctx: NodeContext) {
    const r$ = once(ports, ['model', 'data', 'targets'], (v) => this.search(v, p, ctx));
    return { mask: pick(r$, 'mask'), metrics: pick(r$, 'metrics') };
  }

  private async search(
    v: { model: ModelHandle; data: Dataset; targets: TeacherCache },
    p: Params,
    ctx: NodeContext,
  ): Promise<{ mask: LayerMaskResult; metrics: SearchMetrics }> {
    const { model, data, targets: cache } = v;
    const t0 = performance.now();
    const L = model.model.numLayers;
    const K = keepCount(p, L, `node "${ctx.id}"`);
    const evaluator = await calibrationEvaluator(model, data, p, ctx.signal);
    try {
      const initScores = await this.initialScores(evaluator, p, { L, K }, ctx);
      const alpha0 = standardise(initScores).map((z) => z * p.initScale);
      const calib = await data.calibration(p.calibration);
      const q = { ...p, searchBatchSize: this.batchSize(p.searchBatchSize, calib.length) };
      const restarts: RestartResult[] = [];
      let steps = 0;
      for (let r = 0; r < p.restarts; r++) {
        const args = { index: r, alpha0, model, calibration: calib, cache, evaluator, params: q, keep: K, ctx };
        restarts.push(await this.restart(args));
        steps += p.steps;
        if (ctx.signal.aborted) throw new CancelledError();
      }
      const all = restarts.flatMap((x) => x.candidates.map((c) => ({ ...c, restart: x.restart })));
      const best = await this.refine(
        evaluator,
        all.reduce((a, b) => (b.kl < a.kl ? b : a)),
        restarts,
        { params: q, calibration: calib.length, L, K },
        ctx,
      );
      const chosen = restarts[best.restart];
      const result = await finishMask(evaluator, 'e3-search', best.mask, t0, {
        scores: chosen.alpha,
        details: {
          keepProbability: chosen.keepProbability,
          alpha: chosen.alpha,
          candidates: all,
          initScores,
          searchSteps: steps,
          chosenFrom: `${best.source} (restart ${best.restart})`,
        },
      });
      result.details!.forwardPasses = (result.details!.forwardPasses as number) + steps + cache.teacherForwards;
      this.services.log.info(
        `removes ${(result.details!.removed as number[]).join(',')} (calibration KL ${best.kl.toFixed(4)}, from ${best.source}, restart ${best.restart}); keep probability ${chosen.keepProbability.map((x, i) => `${originalLayer(result, i)}:${x.toFixed(2)}`).join(' ')}`,
      );
      const schedule = { steps: p.steps, layers: L, keep: K, tau: p.tau, curriculum: p.curriculum };
      const wallSeconds = (performance.now() - t0) / 1000;
      return { mask: result, metrics: { node: ctx.id, restarts, wallSeconds, schedule } };
    } finally {
      evaluator.dispose();
    }
  }

  /** The `init` component's per-layer scores, from which the search's α starts (refused when it has none). */
  private async initialScores(
    evaluator: MaskEvaluator,
    p: Params,
    size: { L: number; K: number },
    ctx: NodeContext,
  ): Promise<number[]> {
    const initScores = await trackMasks(
      evaluator,
      this.services.progress,
      {
        task: `${ctx.id}:init`,
        total: p.init.evaluations?.(size.L, size.K, 'scores'),
        what: `${p.init.name} scores for the initial α`,
      },
      () => p.init.scores(evaluator, size.K, this.services.rng.fork('init')),
    );
    if (!initScores)
      throw new UserError(
        `node "${ctx.id}": importance.${p.init.name} gives no per-layer scores, so it cannot initialise the search; use importance.klDrop, blockInfluence, sleb, lastN, random or zeros`,
      );
    return initScores;
  }

  /**
   * The best candidate after swap refinement (`refineRounds` > 0), ranked by the α of its restart;
   * the candidate itself when refinement is off or finds no better swap.
   */
  private async refine(
    evaluator: MaskEvaluator,
    best: Candidate,
    restarts: readonly RestartResult[],
    o: { params: Params; calibration: number; L: number; K: number },
    ctx: NodeContext,
  ): Promise<Candidate> {
    const { params: p, L, K } = o;
    if (p.refineRounds <= 0) return best;
    const chosenAlpha = restarts[best.restart].alpha;
    const budget = refineBudget(p, o.calibration, L, K);
    const perRound = swapsPerRound(p.refineSwaps, budget, p.refineRounds);
    const refined = await trackMasks(
      evaluator,
      this.services.progress,
      {
        task: `${ctx.id}:refine`,
        total: Math.max(1, Math.min(budget, p.refineRounds * Math.min(perRound, K * (L - K)))),
        what: `swap refinement (at most ${budget} masks: refineBudget ${p.refineBudget} × the gradient steps' cost)`,
      },
      () =>
        swapRefine(evaluator, best.mask, {
          rounds: p.refineRounds,
          swapsPerRound: perRound,
          budget,
          rank: (drop, add) => chosenAlpha[add] - chosenAlpha[drop],
        }),
    );
    this.services.log.info(
      `refinement: ${refined.swaps} swap(s), ${refined.scored} masks scored of a budget of ${budget}, ` +
        `stopped at ${refined.stop}`,
    );
    if (refined.swaps === 0) return best;
    return {
      mask: refined.mask,
      kl: refined.kl,
      source: `${best.source} + ${refined.swaps} swap(s)`,
      restart: best.restart,
    };
  }

  /**
   * A step's batch is drawn from the calibration examples, so a larger batch only repeats them
   * (at the cost of memory: 100,000 rows overflowed a typed array): it is clamped to their number.
   */
  private batchSize(wanted: number, calibration: number): number {
    if (wanted <= calibration) return wanted;
    this.services.log.info(
      `searchBatchSize ${wanted} is more than the ${calibration} calibration examples; ` +
        `each step uses all ${calibration} (raise "calibration" for larger batches)`,
    );
    return calibration;
  }

  private async restart(a: RestartArgs): Promise<RestartResult> {
    const { index: r, alpha0, evaluator, params: p, keep: K, ctx } = a;
    const dir = join(this.services.store.checkpointDir(ctx.id), `restart-${r}`);
    const doneFile = join(dir, '..', `restart-${r}.json`);
    if (this.services.run.resume && existsSync(doneFile))
      return JSON.parse(readFileSync(doneFile, 'utf8')) as RestartResult;
    const L = alpha0.length;
    const rng = this.services.rng.fork(`restart-${r}`);
    const alpha = tf.variable(tf.tensor1d(alpha0), true);
    const hardHistory: number[][] = [];
    try {
      const { metrics } = await trainLoop({
        ...this.services.loopArgs(ctx, { checkpointDir: dir, rng, task: `${ctx.id}#${r}` }),
        vars: [alpha],
        params: {
          steps: p.steps,
          lr: p.lr,
          warmupSteps: 0,
          minLrRatio: 1,
          weightDecay: 0,
          beta1: 0.9,
          beta2: 0.999,
          clipNorm: 0,
          maxTokens: 0,
          checkpointEvery: p.checkpointEvery,
          logEvery: Math.max(1, Math.floor(p.steps / 50)),
        },
        what: `searching a mask of ${K}/${L} layers, restart ${r + 1}/${p.restarts}`,
        extraState: {
          save: () => ({ hardHistory }),
          load: (j) => {
            hardHistory.push(...((j.hardHistory ?? []) as number[][]));
          },
        },
        loss: maskStepLoss(a, { alpha, rng, hardHistory }),
      });
      const alphaFinal = Array.from(await alpha.data());
      const keepProbability = keepShares(hardHistory, L);
      const unique = proposals(hardHistory, alphaFinal, keepProbability, { K, candidates: p.candidates });
      const candidates: RestartResult['candidates'] = [];
      await trackMasks(
        evaluator,
        this.services.progress,
        {
          task: `${ctx.id}#${r}:candidates`,
          total: unique.length,
          what: `scoring ${unique.length} candidate masks by calibration KL, restart ${r + 1}/${p.restarts}`,
        },
        async () => {
          for (const c of unique) candidates.push({ ...c, kl: await evaluator.kl(c.mask) });
        },
      );
      const result: RestartResult = { restart: r, alpha: alphaFinal, keepProbability, candidates, history: metrics };
      writeFileAtomic(doneFile, JSON.stringify(result));
      return result;
    } finally {
      alpha.dispose();
    }
  }
}

/** A scored candidate mask, with the restart that proposed it. */
type Candidate = RestartResult['candidates'][number] & { restart: number };

/**
 * The loss of the search's step `step`: the curriculum's K_t and τ_t, a calibration batch, and one
 * sampled straight-through mask from α (the step's hard mask joins `hardHistory` inside the window
 * once K_t is K). The model is frozen: only α trains.
 */
function maskStepLoss(
  a: RestartArgs,
  state: { alpha: tf.Variable<tf.Rank.R1>; rng: Rng; hardHistory: number[][] },
): (step: number) => Promise<BuiltStepLoss> {
  const { model, calibration: calib, cache, params: p, keep: K, ctx } = a;
  const { alpha, rng, hardHistory } = state;
  const L = a.alpha0.length;
  const layerNo = model.model.source.keptLayers; // history keys name layers as the original model does
  const batches = stepIndexedBatches(calib.length, rng.fork('batches'), async (idx) => idx.map((i) => calib[i]));
  const lossOf = trainingStep({
    node: ctx.id,
    model,
    codec: textCodec(model, 'masker.search'),
    loss: p.loss,
    weighting: p.weighting,
    cache,
    promptLoss: p.promptLoss,
    trainHead: false,
    headChunkTokens: p.headChunkTokens,
    ...stepMemory(p, p.searchBatchSize),
  });
  const sinceRecord: number[][] = []; // hard masks since the last recorded step, for keep probabilities over steps
  const windowStart = Math.floor(p.steps * (1 - p.window));
  return async (step) => {
    const s = scheduleAt(p, step, p.steps, L, K);
    const examples = await batches(step, p.searchBatchSize);
    const alphaValues = Array.from(await alpha.data());
    let hard: number[] | undefined;
    // One sample per step: each micro-batch's tape draws it again from the same RNG state.
    const drawFrom = rng.getState();
    return lossOf(examples, {
      mask: () => {
        rng.setState(drawFrom);
        const sample = p.sampler.sample(alpha, alphaValues, s, rng);
        if (!hard) sinceRecord.push(sample.hard);
        hard = sample.hard;
        return sample.mask;
      },
      progress: (loss): Record<string, number | string> =>
        s.k === L
          ? { K: `${L}/${L} kept (curriculum warm-up, nothing removed yet)` }
          : { loss, K: `${s.k}/${L}`, tau: s.tau },
      info: () => ({
        tau: s.tau,
        k: s.k,
        ...Object.fromEntries(alphaValues.map((a, i) => [`alpha${layerNo[i]}`, a])),
        ...Object.fromEntries(keepShares(sinceRecord.splice(0), L).map((q, i) => [`keep${layerNo[i]}`, q])),
      }),
      dispose: () => {
        if (hard && step >= windowStart && s.k === K) hardHistory.push(hard);
      },
    });
  };
}

/**
 * A restart's candidate masks, each once: TopK(α), TopK(keep probability) (ties broken by α) and the
 * `candidates` most frequent hard masks of the window.
 */
function proposals(
  hardHistory: readonly number[][],
  alphaFinal: readonly number[],
  keepProbability: readonly number[],
  o: { K: number; candidates: number },
): { mask: number[]; source: string }[] {
  const counts = new Map<string, number>();
  for (const m of hardHistory) counts.set(m.join(''), (counts.get(m.join('')) ?? 0) + 1);
  const frequent = [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, o.candidates)
    .map(([k]) => [...k].map(Number));
  const all: { mask: number[]; source: string }[] = [
    { mask: hardTopK(alphaFinal, o.K), source: 'topk(alpha)' },
    {
      mask: hardTopK(
        keepProbability.map((q, i) => q + 1e-6 * alphaFinal[i]),
        o.K,
      ),
      source: 'topk(keep probability)',
    },
    ...frequent.map((mask, i) => ({ mask, source: `frequent #${i + 1}` })),
  ];
  return all.filter((c, i) => all.findIndex((o) => sameMask(o.mask, c.mask)) === i);
}

function sameMask(a: readonly number[], b: readonly number[]): boolean {
  return a.every((v, i) => v === b[i]);
}

/** Per layer, the share of `masks` that keep it (0 for none). */
function keepShares(masks: readonly number[][], L: number): number[] {
  return Array.from({ length: L }, (_, l) => masks.reduce((a, m) => a + m[l], 0) / Math.max(masks.length, 1));
}

export const searchManifest: PluginManifest = {
  key: 'masker.search',
  doc: 'E³ Stage 1: learns mask logits α with a Gumbel-TopK sampler against the teacher cache, the model frozen.',
  inputs,
  outputs: { mask: { type: 'Mask' }, metrics: { type: 'SearchMetrics' } },
  supplies: stepSupplies(inputs),
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...calibrationSchema,
      steps: { type: 'integer', minimum: 1, default: 300, description: 'optimiser steps per restart' },
      lr: { type: 'number', exclusiveMinimum: 0, default: 0.1, description: 'Adam learning rate of α' },
      searchBatchSize: {
        type: 'integer',
        minimum: 1,
        default: 32,
        description: 'calibration examples per step (the effective batch; microBatch splits it, not its meaning)',
      },
      sampler: { 'x-component': 'sampler', default: { component: 'sampler.gumbelTopk' } },
      tau: annealSchema(1, 0.05, 'relaxed top-k temperature τ'),
      curriculum: {
        type: 'object',
        additionalProperties: false,
        default: { enabled: true, warmupFraction: 0.3 },
        properties: {
          enabled: { type: 'boolean', default: true },
          warmupFraction: {
            type: 'number',
            minimum: 0,
            maximum: 1,
            default: 0.3,
            description: 'K_t goes from L to K linearly over this fraction of the steps',
          },
        },
      },
      init: {
        'x-component': 'importance',
        default: { component: 'importance.klDrop' },
        description: 'initial α from standardised importance scores',
      },
      initScale: { type: 'number', minimum: 0, default: 1, description: 'α₀ = initScale × z-score' },
      loss: {
        type: 'array',
        minItems: 1,
        items: { 'x-component': 'loss' },
        default: [{ component: 'loss.forwardKl' }],
      },
      weighting: { 'x-component': 'weighting', default: { component: 'weighting.uniform' } },
      headChunkTokens: HEAD_CHUNK_SCHEMA,
      gradientCheckpointing: CHECKPOINTING_SCHEMA,
      microBatch: MICRO_BATCH_SCHEMA,
      restarts: {
        type: 'integer',
        minimum: 1,
        default: 2,
        description: 'independent searches; the best candidate wins',
      },
      refineRounds: {
        type: 'integer',
        minimum: 0,
        default: 10,
        description:
          'at most this many rounds of one-swap refinement of the best candidate by calibration KL, ' +
          'stopping at a local optimum (0 = off)',
      },
      refineSwaps: {
        oneOf: [{ type: 'integer', minimum: 1 }, { const: 'auto' }],
        default: 'auto',
        description:
          "swaps scored per refinement round, the best ranked by the search's α (α_added − α_removed); " +
          'auto: the budget shared over the rounds, at least 16 (every swap while the budget allows)',
      },
      refineBudget: {
        type: 'number',
        minimum: 0,
        default: 1,
        description:
          'the refinement scores masks for at most this multiple of the cost of the gradient steps ' +
          '(in calibration forwards), so it costs as much as the search at any depth',
      },
      window: {
        type: 'number',
        exclusiveMinimum: 0,
        maximum: 1,
        default: 0.2,
        description: 'last fraction of steps for keep probabilities and frequent masks',
      },
      candidates: {
        type: 'integer',
        minimum: 0,
        default: 3,
        description: 'most frequent late hard masks scored as candidates',
      },
      checkpointEvery: { type: 'integer', minimum: 0, default: 100 },
    },
  },
  deterministic: true,
  node: SearchNode,
};
