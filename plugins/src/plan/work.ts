import type { NodeParams } from './node-params.js';
import type { ModelShape } from './shapes.js';

/**
 * What a node computes, as the time plan counts it: phases of matmul FLOPs on a model of some
 * hidden size (the rate depends on it), kernel calls (each costs a fixed overhead, which is what
 * small models spend their time on) and bytes moved through memory or to disk.
 */
export interface WorkPhase {
  readonly what: string;
  /** Matmul FLOPs. */
  readonly flops: number;
  /** Hidden size of the model whose matmuls they are (the rate is measured per size). */
  readonly hidden: number;
  /** Kernel calls (TensorFlow.js ops and native block calls). */
  readonly calls: number;
  /** Bytes read or written outside the matmuls (weights copied, decoding's weight reads). */
  readonly bytes?: number;
  /** Parameters updated by the optimiser (the gradients' norm and AdamW), summed over steps. */
  readonly updates?: number;
  /** Checkpoint bytes converted between bf16 and f32 (loading, exporting): the slowest part of I/O. */
  readonly convertBytes?: number;
  /** Seconds the phase takes at least, whatever it computes (timed loops that run for a set time). */
  readonly minSeconds?: number;
}

/** A node's work, or why it is not estimated. */
export interface NodeWork {
  readonly phases: readonly WorkPhase[];
  readonly note?: string;
}

/** Kernel calls per block and per forward pass outside the blocks (embedding, norm, head chunks). */
const CALLS = { fusedBlock: 4, opBlock: 40, outside: 12 } as const;

/** Matmul FLOPs per token of one block: the projections, and QKᵀ and PV over `T` positions. */
export function blockFlopsPerToken(m: ModelShape, T: number): number {
  const c = m.config;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const projections = c.hiddenSize * (2 * q + 2 * kv) + 3 * c.hiddenSize * c.intermediateSize;
  return 2 * projections + 4 * T * q;
}

/** Matmul FLOPs per token of the output head. */
export function headFlopsPerToken(m: ModelShape): number {
  return 2 * m.config.hiddenSize * m.config.vocabSize;
}

/** How a pass runs: blocks computed (of the model's), tokens, and whether blocks are fused. */
export interface PassShape {
  readonly layers?: number;
  readonly tokens: number;
  readonly T: number;
  readonly fused: boolean;
  /** Sequences in the batch (the head and the calls run per batch). */
  readonly batches: number;
}

/** One forward pass (no gradients) through `layers` blocks and the head, over `tokens` tokens in `batches`. */
export function forwardWork(m: ModelShape, what: string, s: PassShape, times = 1): WorkPhase {
  const layers = s.layers ?? m.config.numLayers;
  const flops = s.tokens * (layers * blockFlopsPerToken(m, s.T) + headFlopsPerToken(m));
  const calls = s.batches * (layers * (s.fused ? CALLS.fusedBlock : CALLS.opBlock) + CALLS.outside);
  return { what, flops: flops * times, hidden: m.config.hiddenSize, calls: calls * times };
}

/**
 * One gradient step: the forward, the backward's input gradients (one forward's FLOPs again),
 * its weight gradients when the weights train (another), a recomputed forward with gradient
 * checkpointing (else the head's logits alone are recomputed), and an optimiser update of `trained`
 * parameters (priced at the measured update rate).
 */
export function stepWork(
  m: ModelShape,
  what: string,
  s: PassShape & { weightGradients: boolean; recompute: boolean; trained: number },
  steps: number,
): WorkPhase {
  const f = forwardWork(m, what, s);
  const factor = 2 + (s.weightGradients ? 1 : 0) + (s.recompute ? 1 : 0);
  // The chunked head computes its logits again in the backward pass (model/chunked-head.ts keeps
  // only the last chunk's), whether or not the blocks are checkpointed.
  const headAgain = s.recompute ? 0 : s.tokens * headFlopsPerToken(m);
  return {
    what,
    flops: (f.flops * factor + headAgain) * steps,
    hidden: f.hidden,
    calls: f.calls * factor * steps,
    updates: s.trained * steps,
  };
}

/** Copying `bytesPerValue` bytes per parameter (a pruned copy, a fingerprint read back). */
export function copyWork(m: ModelShape, what: string, bytesPerValue: number, values = m.parameters): WorkPhase {
  return { what, flops: 0, hidden: m.config.hiddenSize, calls: 0, bytes: values * bytesPerValue };
}

/** Converting every parameter between a checkpoint's 2-byte floats and f32, `passes` times (load, export). */
export function convertWork(m: ModelShape, what: string, passes = 1): WorkPhase {
  return { what, flops: 0, hidden: m.config.hiddenSize, calls: 0, convertBytes: m.parameters * 2 * passes };
}

/** What a node's time estimator is given: its params (components built), the graph's shapes, the backend. */
export interface WorkInput {
  readonly id: string;
  readonly params: NodeParams;
  readonly shapes: import('./graph-shapes.js').GraphShapes;
  readonly fused: boolean;
}

/** A node's time estimator, declared beside its plugin (manifest `estimate.time`). */
export type WorkEstimator = (n: WorkInput) => NodeWork;

/** A node whose model input is not known to the plan. */
export const unwiredWork = (port: string): NodeWork => ({ phases: [], note: `no model shape on "${port}"` });

/**
 * Greedy generation of `newTokens` tokens for `examples` prompts of up to T tokens, in batches of
 * `batch`: a prefill, then one forward of one token per sequence per new token, each of which
 * reads every weight once (memory traffic, not FLOPs, bounds decoding).
 */
export function generationWork(
  m: ModelShape,
  what: string,
  g: { examples: number; T: number; newTokens: number; batch: number; fused: boolean },
): WorkPhase[] {
  const batches = Math.ceil(g.examples / g.batch);
  const prefill = forwardWork(m, `${what}: prefill`, { tokens: g.examples * g.T, T: g.T, fused: g.fused, batches });
  const decode = forwardWork(
    m,
    `${what}: decoding`,
    { tokens: g.examples, T: g.T + g.newTokens, fused: g.fused, batches },
    g.newTokens,
  );
  return [prefill, { ...decode, bytes: batches * g.newTokens * m.parameters * 4 }];
}

/** For nodes that only read small files or pass values on: nothing the plan would count. */
export const noWork: WorkEstimator = () => ({ phases: [] });

/** Micro-batches a step of `batch` runs in: `microBatch` when the plan or the user set a number. */
export function microBatches(batch: number, microBatch: unknown): number {
  return typeof microBatch === 'number' && microBatch > 0 ? Math.ceil(batch / microBatch) : 1;
}
