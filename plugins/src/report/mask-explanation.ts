import { originalLayer, removedLayers, type LayerMaskResult } from '../model/layer-mask.js';

/** A scored mask the search proposed. */
export interface Candidate {
  mask: number[];
  kl: number;
  source: string;
  restart?: number;
}

/** The candidates of a mask result, best (lowest calibration KL) first. */
export function candidatesOf(m: LayerMaskResult | undefined): Candidate[] {
  const c = (m?.details?.candidates ?? []) as Candidate[];
  return [...c].sort((a, b) => a.kl - b.kl);
}

/** A value with `d` decimals; `—` for null (a NaN in report.json) or anything else that is no number. */
const fixed = (x: unknown, d: number) => (typeof x === 'number' ? x.toFixed(d) : '—');
const f4 = (x: unknown) => fixed(x, 4);

/**
 * Why the chosen mask won, in sentences: how candidates are made and scored, the winner and
 * the runner-up, and every layer whose fate disagrees with its keep probability (kept below
 * a removed layer's), with the reason (the winning candidate's source and its KL).
 */
export function maskExplanation(m: LayerMaskResult | undefined): string[] {
  const keepP = m?.details?.keepProbability as number[] | undefined;
  const cands = candidatesOf(m);
  if (!m || !cands.length) return [];
  const chosenFrom = String(m.details?.chosenFrom ?? '');
  const chosenKl = m.details?.calibrationKl as number | undefined;
  const out = [
    'The search does not keep the layers with the highest keep probability directly. Each restart proposes ' +
      'candidate masks — the top-K layers by final α, by keep probability, and the most frequent masks sampled ' +
      'in the last steps — and each candidate is scored by its calibration KL to the teacher. The lowest KL wins; ' +
      'one-swap refinement may then improve it further ("+ n swap(s)").',
  ];
  const runnerUp = cands.find((c) => c.mask.join('') !== m.mask.join(''));
  const winner = chosenFrom || cands[0].source;
  const other = runnerUp
    ? `; the best other candidate was ${runnerUp.source} (restart ${runnerUp.restart ?? 0}) at KL ${f4(runnerUp.kl)}.`
    : '.';
  out.push(`Chosen: ${winner}, calibration KL ${f4(chosenKl ?? cands[0].kl)}${other}`);
  if (keepP) {
    const removed = m.mask.flatMap((x, i) => (x ? [] : [i]));
    const byKeepP = cands.find((c) => c.source === 'topk(keep probability)' && c.restart === cands[0].restart);
    for (const [i, x] of m.mask.entries()) {
      if (!x) continue;
      const above = removed.filter((r) => keepP[r] > keepP[i]);
      if (!above.length) continue;
      const removedAbove = above.map((r) => `${originalLayer(m, r)} (${fixed(keepP[r], 2)})`).join(', ');
      const than = byKeepP ? ` than the top-K by keep probability (${f4(byKeepP.kl)})` : '';
      out.push(
        `Layer ${originalLayer(m, i)} is kept with keep probability ${fixed(keepP[i], 2)}, below removed layer(s) ` +
          `${removedAbove}: the mask from ${winner} measured a lower calibration KL${than}.`,
      );
    }
  }
  return out;
}

/** The short reason shown next to each layer in the report's mask table. */
export function layerReason(m: LayerMaskResult, i: number): string {
  const keepP = m.details?.keepProbability as number[] | undefined;
  if (!keepP) return '';
  const removed = m.mask.flatMap((x, j) => (x ? [] : [j]));
  const kept = m.mask.flatMap((x, j) => (x ? [j] : []));
  const from = String(m.details?.chosenFrom ?? 'the lowest-KL candidate');
  if (m.mask[i] && removed.some((r) => keepP[r] > keepP[i])) return `kept by ${from} (lowest calibration KL)`;
  if (!m.mask[i] && kept.some((k) => keepP[k] < keepP[i])) return `removed by ${from} (lowest calibration KL)`;
  return '';
}

/**
 * "Kept 6 of 7 layers; removed: 7." — with, for a mask computed on an already pruned model, the
 * sentence saying that layers are numbered as in the original model and which ones it had.
 */
export function maskSummary(m: LayerMaskResult): string {
  const removed = removedLayers(m);
  const L = m.mask.length;
  const kept = `Kept ${L - removed.length} of ${L} layers; removed: ${removed.join(', ') || 'none'}.`;
  const pruned = m.layers && m.layers.some((l, i) => l !== i);
  if (!pruned) return kept;
  const had = `the model this mask was computed for had its layers ${m.layers!.join(', ')}`;
  return `${kept} Layers are numbered as in the original model; ${had}.`;
}

/** One pruning of a model's history: the node and the layers (original numbers) it removed. */
type PrunedBy = { node: string; removed: number[] };

/**
 * "The pruned model keeps layers 0, 1, 2, 3, 5, 6 of the original 8: round1.pruned removed layer 4,
 * then round2.pruned removed layer 7." from report.json's `model` (its pruning history); '' when
 * nothing was removed or the report does not say.
 */
export function prunedLayersSentence(model: object | undefined): string {
  const m = model as { keptLayers?: number[]; originalLayers?: number; prunedBy?: PrunedBy[] } | undefined;
  const kept = m?.keptLayers;
  const original = m?.originalLayers;
  if (!kept || original === undefined || kept.length === original) return '';
  const steps = (m?.prunedBy ?? []).map(
    (p) => `${p.node} removed layer${p.removed.length === 1 ? '' : 's'} ${p.removed.join(', ')}`,
  );
  return (
    `The pruned model keeps layers ${kept.join(', ')} of the original ${original}` +
    (steps.length ? `: ${steps.join(', then ')}.` : '.')
  );
}
