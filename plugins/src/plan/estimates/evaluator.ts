import { forwardWork, generationWork, unwiredWork, type NodeWork, type WorkInput } from '../work.js';
import type { ModelShape } from '../shapes.js';
import { HEAD_LIVE, unwired, type MemoryEstimator } from '../node-memory.js';
import { withLayers } from '../shapes.js';
import { forwardPass, headChunk, kvCache, total, weights } from '../stage-memory.js';

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
  const ex = p.examples;
  const T = n.shapes.typicalTokens(n.id, m, Math.min(ex, BATCH));
  const batches = Math.ceil(ex / BATCH);
  // quality.ts answers only the examples with a prompt; plain text has nothing to answer.
  const asked = Math.round(ex * n.shapes.promptedShare(n.id));
  const answers = (x: ModelShape, who: string) =>
    asked === 0
      ? []
      : generationWork(x, `${who} answers`, {
          examples: asked,
          T,
          newTokens: p.maxNewTokens,
          batch: BATCH,
          fused: n.fused,
        });
  const score = (x: ModelShape, who: string, withTeacher: boolean) => [
    ...answers(x, who),
    forwardWork(x, `${who} likelihood`, { tokens: ex * T, T, fused: n.fused, batches }),
    ...(withTeacher && teacher
      ? [forwardWork(teacher, `${who} KL: teacher forward`, { tokens: ex * T, T, fused: n.fused, batches })]
      : []),
  ];
  const phases = [...score(m, 'model', true), ...(teacher ? score(teacher, 'teacher', false) : [])];
  if (p.speed?.enabled && teacher) {
    // A warm-up and `repeats` rounds of both models: prefill, then decoding; each timed call lasts
    // at least TIMED_CALL_SECONDS (speed.ts repeats short calls).
    const Ts = n.shapes.typicalTokens(n.id, m, p.speed.prompts);
    const g = {
      examples: p.speed.prompts,
      T: Ts,
      newTokens: p.speed.newTokens,
      batch: p.speed.prompts,
      fused: n.fused,
    };
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

/** evaluator.suite: the larger of the held-out likelihood and generation. */
export const evaluatorMemory: MemoryEstimator = (n) => {
  const m = n.shapes.modelAt(n.id, 'model');
  if (!m) return unwired('model');
  const p = n.params;
  const T = n.shapes.sequenceTokens(n.id, m);
  const B = Math.min(128, p.examples); // quality.ts: batches of 128 held-out examples
  const teacher = n.shapes.modelAt(n.id, 'teacher');
  const likelihood = [
    ...forwardPass(m, { B, T, param: 'examples' }, n.exec, 'held-out forward'),
    ...(teacher ? forwardPass(teacher, { B, T, param: 'examples' }, n.exec, 'teacher held-out forward') : []),
    headChunk(m, B * T, 0, teacher ? HEAD_LIVE.klTwoModels : HEAD_LIVE.nll, teacher ? 'KL to the teacher' : 'NLL'),
  ];
  const generation = [
    kvCache(m, B, T + p.maxNewTokens, 'examples'),
    ...forwardPass(m, { B, T, param: 'examples' }, n.exec, 'prefill'),
  ];
  // A teacher with bf16 weights is timed as an f32 copy (evaluator/speed.ts), which generation then holds.
  if (teacher?.bf16Parameters)
    generation.push(
      weights(withLayers(teacher, teacher.config.numLayers, teacher.origin), 'f32 copy of the teacher, for timing'),
    );
  return { items: total(likelihood) > total(generation) ? likelihood : generation };
};
