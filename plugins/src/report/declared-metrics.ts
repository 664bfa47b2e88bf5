import type { DeclaredMetric, HistoryRow, ReportQuality, RunReport } from '@e3/core';

/** Quantities of a history row that are not loss terms. */
const NOT_TERMS = new Set(['step', 'lr', 'gradNorm', 'tokens', 'tau', 'k']);

const value = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** The pruned model's held-out quality: exact match, perplexity, KL to the teacher. */
function qualityMetrics(m: ReportQuality, source?: string): DeclaredMetric[] {
  const examples = m.examples ?? 0;
  const out: DeclaredMetric[] = [];
  if (m.accuracy !== undefined)
    out.push({
      name: 'exactMatch',
      heading: 'exact match',
      unit: 'fraction',
      direction: 'higher',
      n: m.answered ?? examples,
      value: value(m.accuracy),
      source,
    });
  out.push({ name: 'perplexity', unit: '', direction: 'lower', n: examples, value: value(m.perplexity), source });
  if (m.klToTeacher !== undefined)
    out.push({
      name: 'kl',
      heading: 'KL to teacher',
      unit: 'nats/token',
      direction: 'lower',
      n: examples,
      value: value(m.klToTeacher),
      digits: 4,
      source,
    });
  return out;
}

/** The last recorded training step's loss and each of its terms (`final.loss`, `final.forwardKl`). */
function finalLossMetrics(history: readonly HistoryRow[], source?: string): DeclaredMetric[] {
  const last = history.at(-1);
  if (!last) return [];
  const before = history.at(-2)?.tokens ?? 0;
  const n = Math.max(0, (last.tokens ?? 0) - (before ?? 0));
  return Object.keys(last)
    .filter((k) => !NOT_TERMS.has(k) && !/^(alpha|keep)\d+$/.test(k))
    .map((k) => ({
      name: `final.${k}`,
      heading: `final ${k}`,
      unit: 'loss',
      direction: 'lower' as const,
      n,
      of: 'tokens',
      value: value(last[k]),
      digits: 4,
      source,
    }));
}

/** Speed and wall time: measured on a shared machine, so noisy. */
function timingMetrics(r: Omit<RunReport, 'metrics'>, source?: string): DeclaredMetric[] {
  const out: DeclaredMetric[] = [];
  const speed = { unit: '×', direction: 'higher' as const, of: 'repeats', noisy: true, digits: 2, source };
  if (r.speedup) {
    const n = r.speedup.repeats;
    out.push(
      { name: 'speedup.prefill', heading: 'speed-up (prefill)', n, value: value(r.speedup.prefill), ...speed },
      { name: 'speedup.decode', heading: 'speed-up (decode)', n, value: value(r.speedup.decode), ...speed },
    );
    const decode = r.model?.speed?.decodeTokensPerSecond;
    out.push({
      ...speed,
      name: 'decodeTokensPerSecond',
      heading: 'decode tok/s',
      unit: 'tokens/s',
      n,
      value: value(decode),
      digits: 0,
    });
  }
  if (r.training)
    out.push({
      name: 'training.wallSeconds',
      heading: 'training wall s',
      unit: 's',
      direction: 'lower',
      n: r.training.steps,
      of: 'steps',
      value: value(r.training.wallSeconds),
      noisy: true,
      digits: 1,
      source: r.training.node ?? source,
    });
  return out;
}

/**
 * The evaluator's declared metrics, from the sections of its report: held-out quality of the
 * pruned model, the training's tokens and final loss terms, and (noisy) speed and wall time.
 */
export function evaluatorMetrics(r: Omit<RunReport, 'metrics'>, source?: string): DeclaredMetric[] {
  const out = r.model ? qualityMetrics(r.model, source) : [];
  if (r.training) {
    const from = r.training.node ?? source;
    out.push({
      name: 'training.tokens',
      heading: 'training tokens',
      unit: 'tokens',
      direction: 'lower',
      n: r.training.steps,
      of: 'steps',
      value: value(r.training.tokens),
      digits: 0,
      source: from,
    });
    out.push(...finalLossMetrics(r.training.history, from));
  }
  return [...out, ...timingMetrics(r, source)];
}
