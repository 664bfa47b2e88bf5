import { inject, injectable } from 'inversify';
import {
  LOGGER,
  once,
  PROGRESS,
  UserError,
  type GraphNode,
  type Logger,
  type NodeContext,
  type PluginManifest,
  type Progress,
} from '@e3/core';
import { calibrationSchema, finishMask, trackMasks, withCalibration, type CalibrationParams } from './masker-common.js';
import { keepCount, type PruneAmount } from './prune-amount.js';
import type { PortInputs, Ports } from '../ports.js';

interface Params extends CalibrationParams, PruneAmount {
  maxMasks: number;
}

/** Every 0/1 mask of length L with exactly K ones, in lexicographic order of kept indices. */
export function* allMasks(L: number, K: number): Generator<number[]> {
  const idx = Array.from({ length: K }, (_, i) => i);
  while (true) {
    yield Array.from({ length: L }, (_, i) => (idx.includes(i) ? 1 : 0));
    let j = K - 1;
    while (j >= 0 && idx[j] === L - K + j) j--;
    if (j < 0) return;
    idx[j]++;
    for (let t = j + 1; t < K; t++) idx[t] = idx[t - 1] + 1;
  }
}

/** C(n, k), the number of K-of-L masks. */
export function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

const inputs = { model: { type: 'Model' }, data: { type: 'Dataset' } } as const satisfies Ports;

/** `masker.exhaustive`: the oracle — scores every mask with Σm = K by calibration KL. */
@injectable()
export class ExhaustiveMaskerNode implements GraphNode<Params> {
  constructor(
    @inject(LOGGER) private readonly log: Logger,
    @inject(PROGRESS) private readonly progress: Progress,
  ) {}

  connect(ports: PortInputs<typeof inputs>, p: Params, node: NodeContext) {
    return {
      mask: once(ports, ['model', 'data'], async ({ model, data }) => {
        const t0 = performance.now();
        const L = model.model.numLayers;
        const K = keepCount(p, L, 'masker.exhaustive');
        const n = binomial(L, K);
        if (n > p.maxMasks)
          throw new UserError(
            `masker.exhaustive: C(${L}, ${K}) = ${n} masks exceeds maxMasks = ${p.maxMasks}; raise maxMasks or use masker.search`,
          );
        return withCalibration(
          model,
          data,
          p,
          async (evaluator) => {
            const ranked: { mask: number[]; kl: number }[] = [];
            const what = `oracle: calibration KL of every ${K}-of-${L} mask`;
            await trackMasks(evaluator, this.progress, { task: node.id, total: n, what }, async () => {
              for (const mask of allMasks(L, K)) ranked.push({ mask, kl: await evaluator.kl(mask) });
            });
            ranked.sort((a, b) => a.kl - b.kl);
            this.log.info(
              `exhaustive: best of ${n} masks removes ${ranked[0].mask.flatMap((m, i) => (m ? [] : [i])).join(',')} (KL ${ranked[0].kl.toFixed(4)})`,
            );
            return finishMask(evaluator, 'exhaustive', ranked[0].mask, t0, {
              details: { masksScored: n, top: ranked.slice(0, 10) },
            });
          },
          node.signal,
        );
      }),
    };
  }
}

export const exhaustiveMaskerManifest: PluginManifest = {
  key: 'masker.exhaustive',
  doc: 'The oracle: evaluates every mask with Σm = K on calibration data (small L only).',
  inputs,
  outputs: { mask: { type: 'Mask' } },
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...calibrationSchema,
      maxMasks: { type: 'integer', minimum: 1, default: 5000, description: 'refuse above this many masks' },
    },
  },
  deterministic: true,
  node: ExhaustiveMaskerNode,
};
