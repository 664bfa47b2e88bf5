import type * as tf from '@tensorflow/tfjs-core';
import type { DecoderModel } from '../model/decoder.js';
import { refuseBf16Training } from '../model/bf16-weights.js';

/** What a training node may leave out of training: the input embedding, the output head. */
export type FrozenPart = 'embeddings' | 'head';

/** The memory options of the nodes that train weights (trainer.train, distiller.train). */
export interface MemoryOptionParams {
  gradientCheckpointing: boolean;
  freeze: FrozenPart[];
}

/** Gradient checkpointing alone (masker.search trains no weights, but keeps activations). */
export const CHECKPOINTING_SCHEMA = {
  type: 'boolean',
  default: false,
  description:
    "gradient checkpointing per block: keep only each block's input for the backward pass and run the block " +
    'again there (fused native blocks; ~1/3 more block compute, activations of one block instead of all)',
};

export const MEMORY_OPTIONS_SCHEMA = {
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
