import { forwardWork, generationWork, unwiredWork, type NodeWork, type WorkInput } from '../plan/work.js';
import type { ModelShape } from '../plan/shapes.js';

/** quality.ts scores and answers held-out examples in batches of this many. */
const BATCH = 128;
/** speed.ts times each call for at least this long, per model, for prefill and for decoding. */
const TIMED_CALL_SECONDS = 0.05;

/**
 * evaluator.suite: for the model and the teacher, greedy answers and the held-out likelihood
 * (with the teacher's forward for the model's KL), then the timed speed rounds of both.
 */
export function evaluatorWork(n: WorkInput): NodeWork {
  const m = n.shapes.modelAt(n.id, 'model');
  if (!m) return unwiredWork('model');
  const p = n.params;
  const teacher = n.shapes.modelAt(n.id, 'teacher');
  const T = n.shapes.sequenceTokens(n.id, m);
  const ex = p.examples;
  const batches = Math.ceil(ex / BATCH);
  const score = (x: ModelShape, who: string, withTeacher: boolean) => [
    ...generationWork(x, `${who} answers`, {
      examples: ex,
      T,
      newTokens: p.maxNewTokens,
      batch: BATCH,
      fused: n.fused,
    }),
    forwardWork(x, `${who} likelihood`, { tokens: ex * T, T, fused: n.fused, batches }),
    ...(withTeacher && teacher
      ? [forwardWork(teacher, `${who} KL: teacher forward`, { tokens: ex * T, T, fused: n.fused, batches })]
      : []),
  ];
  const phases = [...score(m, 'model', true), ...(teacher ? score(teacher, 'teacher', false) : [])];
  if (p.speed?.enabled && teacher) {
    // A warm-up and `repeats` rounds of both models: prefill, then decoding; each timed call lasts
    // at least TIMED_CALL_SECONDS (speed.ts repeats short calls).
    const g = { examples: p.speed.prompts, T, newTokens: p.speed.newTokens, batch: p.speed.prompts, fused: n.fused };
    for (const [x, who] of [
      [m, 'model'],
      [teacher, 'teacher'],
    ] as const)
      for (const w of generationWork(x, `${who} speed`, g))
        phases.push({
          ...w,
          calls: w.calls * (p.speed.repeats + 1),
          flops: w.flops * (p.speed.repeats + 1),
          bytes: (w.bytes ?? 0) * (p.speed.repeats + 1),
          minSeconds: (p.speed.repeats + 1) * TIMED_CALL_SECONDS,
        });
  }
  return { phases };
}
