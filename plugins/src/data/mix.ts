import type { Dataset, Example } from './dataset.js';

/**
 * Two datasets mixed: a batch takes round(size × weight) examples from `a` and the rest from
 * `b` (each step-indexed, so the mix is deterministic); held-out and calibration sets
 * alternate a, b, a, b…
 */
export function mixDatasets(a: Dataset, b: Dataset, weight: number): Dataset {
  const interleave = (x: Example[], y: Example[]) =>
    Array.from({ length: Math.max(x.length, y.length) * 2 }, (_, i) => (i % 2 ? y : x)[i >> 1]).filter(Boolean);
  const split = async (get: (d: Dataset, n?: number) => Promise<Example[]>, limit?: number) => {
    const na = limit === undefined ? undefined : Math.ceil(limit / 2);
    const nb = limit === undefined ? undefined : Math.floor(limit / 2);
    return interleave(await get(a, na), await get(b, nb)).slice(0, limit);
  };
  return {
    fingerprint: `mix(${a.fingerprint},${b.fingerprint},${weight})`,
    trainSize: a.trainSize + b.trainSize,
    heldoutSize: a.heldoutSize + b.heldoutSize,
    heldoutOrigin: `data.mix of a: ${a.heldoutOrigin}; b: ${b.heldoutOrigin}`,
    trainBatch: async (step, size) => {
      const na = Math.round(size * weight);
      return [...(na ? await a.trainBatch(step, na) : []), ...(size - na ? await b.trainBatch(step, size - na) : [])];
    },
    heldout: (limit) => split((d, n) => d.heldout(n), limit),
    calibration: (limit) => split((d, n) => d.calibration(n ?? limit), limit),
  };
}
