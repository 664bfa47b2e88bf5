import type { GraphShapes } from './graph-shapes.js';
import { stepMemory } from '../trainer/memory-options.js';
import { withLayers, type ModelShape } from './shapes.js';
import {
  calibrationStore,
  forwardPass,
  headChunk,
  hiddenStates,
  kvCache,
  perTensor,
  targets,
  trainingPass,
  trainingStepMemory,
  weights,
  total,
  type Execution,
  type MemoryItem,
} from './stage-memory.js';

/** What a node holds at its peak, beyond the models that are resident when it runs. */
export interface NodeMemory {
  readonly items: MemoryItem[];
  /** The model the node outputs (resident until its last consumer finishes). */
  readonly output?: ModelShape;
  /** Input ports whose values its outputs keep alive (the teacher cache holds its teacher). */
  readonly holds?: readonly string[];
  /** Why nothing is estimated (unknown plugin, unwired model). */
  readonly note?: string;
}

export interface NodeInput {
  readonly id: string;
  readonly params: Record<string, any>;
  readonly shapes: GraphShapes;
  readonly exec: Execution;
}

type Estimator = (n: NodeInput) => NodeMemory;

/** Scores that read every block's hidden states (mask-evaluator.ts hiddenStates). */
const HIDDEN_STATE_SCORES = ['importance.blockInfluence', 'importance.angular'];

/** Live [rows, V] tensors per chunk, counted in chunked-head.ts / student-tokens.ts for each pass. */
export const HEAD_LIVE = { teacherTopK: 4, klTwoModels: 7, nll: 3, studentTrain: 4 } as const;

/** Calibration scoring shared by the maskers: the store, one batch's forward pass and KL head, maybe hidden states. */
function calibration(m: ModelShape, n: NodeInput, T: number, score?: string): MemoryItem[] {
  const p = n.params;
  const B = Math.min(p.batchSize, p.calibration);
  const scoring = [
    ...forwardPass(m, { B, T, param: 'batchSize' }, n.exec, 'calibration forward'),
    headChunk(m, B * T, p.headChunkTokens ?? 0, HEAD_LIVE.klTwoModels, 'KL of two models'),
  ];
  const hidden = score && HIDDEN_STATE_SCORES.includes(score) ? [hiddenStates(m, p.calibration, T)] : [];
  return [calibrationStore(m, p.calibration, T), ...(total(hidden) > total(scoring) ? hidden : scoring)];
}

/**
 * The training nodes whose batch runs in micro-batches (params `microBatch` and
 * `gradientCheckpointing`, trainer/memory-options.ts), and the batch of each: the memory plan
 * chooses those left `auto` (memory-plan.ts).
 */
export const MICRO_BATCHED: Record<string, (p: Record<string, any>) => number> = {
  'trainer.train': (p) => p.batchSize,
  'distiller.train': (p) => p.batchSize,
  // search-node.ts clamps the batch to the calibration examples
  'masker.search': (p) => Math.min(p.searchBatchSize, p.calibration),
};

/** Training a copy of `m` (trainer, distiller): its optimizer state and the step's peak, per micro-batch. */
function training(m: ModelShape, n: NodeInput, T: number): MemoryItem[] {
  const p = n.params;
  const s = stepMemory(p, p.batchSize);
  return trainingStepMemory(m, { B: s.microBatch, T, param: 'microBatch' }, n.exec, {
    frozen: p.freeze ?? [],
    recompute: s.recompute,
    chunkTokens: p.headChunkTokens ?? 0,
    headLive: HEAD_LIVE.studentTrain,
    accumulate: s.microBatch < p.batchSize,
  });
}

/** k of the teacher cache wired to `targets`. */
const cacheK = (n: NodeInput): number => n.shapes.producerParams(n.id, 'targets').k ?? 10;

const unwired = (port: string): NodeMemory => ({ items: [], note: `no model shape on "${port}" (not estimated)` });

/** A node that makes a model from its params: its terms, or why its model could not be read (the node will say). */
function madeModel(n: NodeInput, items: (m: ModelShape) => MemoryItem[]): NodeMemory {
  const m = n.shapes.modelOf(n.id);
  const why = n.shapes.whyUnknown(n.id)?.split('\n')[0];
  return m ? { items: items(m), output: m } : { items: [], note: `not estimated: ${why}` };
}

/** Estimators by plugin key; a plugin absent here is shown as not estimated. */
export const NODE_ESTIMATORS: Record<string, Estimator> = {
  'model.hfCheckpoint': (n) =>
    madeModel(n, (m) => [
      weights(m, 'weights'),
      perTensor(m, 4, 'one tensor read at a time (at most 4 bytes a value)'),
    ]),
  'model.init': (n) => madeModel(n, (m) => [weights(m, 'weights')]),
  'model.prune': (n) => {
    const m = n.shapes.modelOf(n.id);
    return m ? { items: [weights(m, 'pruned copy')], output: m } : unwired('model');
  },
  'teacher.topkCache': (n) => {
    const m = n.shapes.modelAt(n.id, 'model');
    if (!m) return unwired('model');
    const p = n.params;
    const T = n.shapes.sequenceTokens(n.id, m);
    const N = p.batchSize * T;
    return {
      items: [
        ...forwardPass(m, { B: p.batchSize, T, param: 'batchSize' }, n.exec, 'teacher forward'),
        headChunk(m, N, p.headChunkTokens, HEAD_LIVE.teacherTopK, 'softmax, top-k, entropy'),
        targets(N, p.k),
        perTensor(m, 4, 'fingerprint: one weight read back at a time'),
      ],
      holds: ['model'],
    };
  },
  'masker.search': (n) => {
    const m = n.shapes.modelAt(n.id, 'model');
    if (!m) return unwired('model');
    const p = n.params;
    const T = n.shapes.sequenceTokens(n.id, m);
    const B = MICRO_BATCHED['masker.search'](p);
    const s = stepMemory(p, B);
    // Only α trains: summing micro-batches' gradients costs L floats.
    const step = [
      ...trainingPass(m, { B: s.microBatch, T, param: 'microBatch' }, n.exec, s.recompute),
      headChunk(m, s.microBatch * T, p.headChunkTokens, HEAD_LIVE.studentTrain, 'masked model loss, frozen head'),
      targets(B * T, cacheK(n)),
    ];
    const scoring = calibration(m, n, T, p.init?.component);
    const [store, ...rest] = scoring;
    return { items: [store, ...(total(step) > total(rest) ? step : rest)] };
  },
  'masker.importance': (n) => {
    const m = n.shapes.modelAt(n.id, 'model');
    return m
      ? { items: calibration(m, n, n.shapes.sequenceTokens(n.id, m), n.params.score?.component) }
      : unwired('model');
  },
  'masker.exhaustive': (n) => {
    const m = n.shapes.modelAt(n.id, 'model');
    return m ? { items: calibration(m, n, n.shapes.sequenceTokens(n.id, m)) } : unwired('model');
  },
  'masker.fixed': () => ({ items: [] }),
  'distiller.train': (n) => {
    const m = n.shapes.modelAt(n.id, 'model');
    if (!m) return unwired('model');
    const T = n.shapes.sequenceTokens(n.id, m);
    const p = n.params;
    const teacher = n.shapes.modelAt(n.id, 'teacher');
    const B = stepMemory(p, p.batchSize).microBatch; // training-step.ts: per micro-batch
    const hidden =
      teacher && p.loss.some((l: { component: string }) => l.component === 'loss.hiddenMse')
        ? [
            {
              what: `teacher hidden states, ${teacher.config.numLayers + 1} × ${B}×${T} tokens`,
              bytes: 4 * (teacher.config.numLayers + 1) * B * T * teacher.config.hiddenSize,
              kind: 'activations' as const,
              param: 'microBatch',
            },
          ]
        : [];
    return {
      items: [weights(m, 'trained copy'), ...training(m, n, T), targets(p.batchSize * T, cacheK(n)), ...hidden],
      output: m,
    };
  },
  'trainer.train': (n) => {
    const m = n.shapes.modelAt(n.id, 'model');
    return m
      ? { items: [weights(m, 'trained copy'), ...training(m, n, n.shapes.sequenceTokens(n.id, m))], output: m }
      : unwired('model');
  },
  'evaluator.suite': (n) => {
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
  },
  'exporter.hf': (n) => {
    const m = n.shapes.modelAt(n.id, 'model');
    return m ? { items: [perTensor(m, 6, 'one tensor read back and encoded at a time')] } : unwired('model');
  },
  'data.arithmetic': () => ({ items: [] }),
  'data.jsonl': () => ({ items: [] }),
  'data.brown': () => ({ items: [] }),
  'data.mix': () => ({ items: [] }),
};
