import type { GraphShapes } from './graph-shapes.js';
import { stepMemory } from '../trainer/memory-options.js';
import type { ModelShape } from './shapes.js';
import {
  calibrationStore,
  forwardPass,
  headChunk,
  hiddenStates,
  trainingStepMemory,
  total,
  type Execution,
  type MemoryItem,
} from './stage-memory.js';

import type { NodeParams } from './node-params.js';
export type { NodeParams } from './node-params.js';

/**
 * Memory terms the plugins' estimators share (each plugin declares its own in its folder).
 */

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
  readonly params: NodeParams;
  readonly shapes: GraphShapes;
  readonly exec: Execution;
}

/** A node's memory estimator, declared beside its plugin (manifest `estimate.memory`). */
export type MemoryEstimator = (n: NodeInput) => NodeMemory;

/**
 * The batch of a node whose step runs in micro-batches (params `microBatch` and
 * `gradientCheckpointing`, trainer/memory-options.ts), declared beside its plugin (manifest
 * `estimate.batch`): the memory plan chooses those left `auto` (memory-plan.ts).
 */
export type StepBatch = (p: NodeParams) => number;

/** For nodes that hold nothing the plan would count (data nodes read small files). */
export const noMemory: MemoryEstimator = () => ({ items: [] });

/** Scores that read every block's hidden states (mask-evaluator.ts hiddenStates). */
const HIDDEN_STATE_SCORES = ['importance.blockInfluence', 'importance.angular'];

/** Live [rows, V] tensors per chunk, counted in chunked-head.ts / student-tokens.ts for each pass. */
export const HEAD_LIVE = { teacherTopK: 4, klTwoModels: 7, nll: 3, studentTrain: 4 } as const;

/** Calibration scoring shared by the maskers: the store, one batch's forward pass and KL head, maybe hidden states. */
export function calibration(m: ModelShape, n: NodeInput, T: number, score?: string): MemoryItem[] {
  const p = n.params;
  const B = Math.min(p.batchSize, p.calibration);
  const scoring = [
    ...forwardPass(m, { B, T, param: 'batchSize' }, n.exec, 'calibration forward'),
    headChunk(m, B * T, p.headChunkTokens ?? 0, HEAD_LIVE.klTwoModels, 'KL of two models'),
  ];
  const hidden = score && HIDDEN_STATE_SCORES.includes(score) ? [hiddenStates(m, p.calibration, T)] : [];
  return [calibrationStore(m, p.calibration, T), ...(total(hidden) > total(scoring) ? hidden : scoring)];
}

/** Training a copy of `m` (trainer, distiller): its optimizer state and the step's peak, per micro-batch. */
export function training(m: ModelShape, n: NodeInput, T: number): MemoryItem[] {
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
export const cacheK = (n: NodeInput): number => n.shapes.producerParams(n.id, 'targets').k ?? 10;

export const unwired = (port: string): NodeMemory => ({
  items: [],
  note: `no model shape on "${port}" (not estimated)`,
});

/** A node that makes a model from its params: its terms, or why its model could not be read (the node will say). */
export function madeModel(n: NodeInput, items: (m: ModelShape) => MemoryItem[]): NodeMemory {
  const m = n.shapes.modelOf(n.id);
  const why = n.shapes.whyUnknown(n.id)?.split('\n')[0];
  return m ? { items: items(m), output: m } : { items: [], note: `not estimated: ${why}` };
}
