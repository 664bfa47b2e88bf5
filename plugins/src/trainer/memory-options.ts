import type * as tf from '@tensorflow/tfjs-core';
import type { DecoderModel } from '../model/decoder.js';
import { refuseBf16Training } from '../model/bf16-weights.js';

/** What a training node may leave out of training: the input embedding, the output head. */
export type FrozenPart = 'embeddings' | 'head';

/** A param the memory plan may choose (`auto`, the default) or the user pins. */
export type Auto<T> = T | 'auto';

/** The memory options of the nodes that train weights (trainer.train, distiller.train). */
export interface MemoryOptionParams {
  gradientCheckpointing: Auto<boolean>;
  microBatch: Auto<number>;
  freeze: FrozenPart[];
}

/** Gradient checkpointing alone (masker.search trains no weights, but keeps activations). */
export const CHECKPOINTING_SCHEMA = {
  enum: [true, false, 'auto'],
  default: 'auto',
  description:
    "gradient checkpointing per block: keep only each block's input for the backward pass and run the block " +
    'again there (fused native blocks; ~1/3 more block compute, activations of one block instead of all); ' +
    'auto: the memory plan turns it on when no micro-batch fits without it (off when nothing plans the run)',
};

/** Micro-batches with gradient accumulation (train-loop.ts stepGradients), for every training node. */
export const MICRO_BATCH_SCHEMA = {
  type: ['integer', 'string'],
  minimum: 1,
  pattern: '^auto$',
  default: 'auto',
  description:
    'examples per micro-batch: each optimiser step takes the gradient of its batch in micro-batches of at ' +
    "most this many examples and sums them (weighted by their share of the batch's loss tokens) before one " +
    'update, so the batch keeps its meaning and only memory and float summation order change; auto: the ' +
    'memory plan picks the largest that fits (the whole batch when it does; e3 plan shows the choice)',
};

/** What a training step runs as: its micro-batch and checkpointing (`auto`: the whole batch, no checkpointing). */
export function stepMemory(
  p: { microBatch?: Auto<number>; gradientCheckpointing?: Auto<boolean> },
  batch: number,
): { microBatch: number; recompute: boolean } {
  const micro = typeof p.microBatch === 'number' ? Math.min(p.microBatch, batch) : batch;
  return { microBatch: Math.max(1, micro), recompute: p.gradientCheckpointing === true };
}

/** "batches of 64 examples run as 16 micro-batches of at most 4, …, with gradient checkpointing", or nothing. */
export function describeStepMemory(m: { microBatch: number; recompute: boolean }, batch: number): string | undefined {
  const n = Math.ceil(batch / m.microBatch);
  const parts = [
    n > 1 ? `run as ${n} micro-batches of at most ${m.microBatch} (gradients summed, one update)` : '',
    m.recompute ? 'with gradient checkpointing' : '',
  ].filter(Boolean);
  return parts.length ? `batches of ${batch} examples ${parts.join(', ')}` : undefined;
}

export const MEMORY_OPTIONS_SCHEMA = {
  microBatch: MICRO_BATCH_SCHEMA,
  gradientCheckpointing: CHECKPOINTING_SCHEMA,
  freeze: {
    type: 'array',
    items: { enum: ['embeddings', 'head'] },
    uniqueItems: true,
    default: [],
    description:
      'weights left as they are (no gradients, no AdamW state): "embeddings" (with tied embeddings this ' +
      'is the head too), "head" (lm_head, or the tied embedding)',
  },
};

/** The variables that train under `freeze`, and whether the output head is one of them. */
export function trainableVariables(
  model: DecoderModel,
  freeze: readonly FrozenPart[],
): { vars: tf.Variable[]; trainHead: boolean; frozen: string[] } {
  const w = model.weights;
  refuseBf16Training(w.layers, 'training');
  const head = w.lmHead ?? w.embed;
  const out = new Set<tf.Variable>();
  if (freeze.includes('embeddings')) out.add(w.embed);
  if (freeze.includes('head')) out.add(head);
  const frozen = [...model.named()].filter(([, v]) => out.has(v)).map(([name]) => name);
  return { vars: model.variables().filter((v) => !out.has(v)), trainHead: !out.has(head), frozen };
}
