import * as tf from '@tensorflow/tfjs-core';
import { isPackedBf16 } from '@e3/native';
import { UserError } from '@e3/core';
import { DecoderModel } from './decoder.js';
import type { FloatDtype } from './safetensors.js';
import type { TextTokenizer } from './tokenizer.js';
import { namedWeights, weightsFromNamed } from './weights.js';
import { unpackBf16 } from './bf16-weights.js';

/**
 * What travels on a `Model` port: the decoder plus its tokenizer and the files that go
 * with it on export. Disposing it frees the weights (the runtime does so after the last
 * consumer).
 */
export interface ModelHandle {
  /** The decoder: forward passes, parameters by name, layer count. */
  readonly model: DecoderModel;
  /** Its tokenizer (absent for models built without one, e.g. random test models). */
  readonly tokenizer?: TextTokenizer;
  /** tokenizer.json / tokenizer_config.json objects, copied on export. */
  readonly tokenizerFiles?: Record<string, Record<string, unknown>>;
  /** generation_config.json, copied on export. */
  readonly generationConfig?: Record<string, unknown>;
  /** The float type of the checkpoint's weights on disk (written back on export). */
  readonly dtype: FloatDtype;
  /** The end-of-sequence token id (generation_config, config.json, or the tokenizer's `<eos>`). */
  readonly eosId: number;
  /** The padding token id (falls back to {@link eosId}). */
  readonly padId: number;
  /** Adds a holder: the weights live until every holder has called dispose(). */
  retain(): ModelHandle;
  /** Drops this holder: the weights are freed when the last holder disposes. */
  dispose(): void;
}

/** Wraps a model with its companions into a disposable handle. */
export function makeHandle(
  parts: Omit<ModelHandle, 'dispose' | 'retain' | 'eosId' | 'padId'> & { eosId?: number; padId?: number },
): ModelHandle {
  const gen = parts.generationConfig ?? {};
  const raw = parts.model.source.rawConfig;
  const first = (v: unknown): number | undefined =>
    Array.isArray(v) ? (v[0] as number) : typeof v === 'number' ? v : undefined;
  const eosId =
    parts.eosId ?? first(gen.eos_token_id) ?? first(raw.eos_token_id) ?? parts.tokenizer?.tokenId('<eos>') ?? 0;
  const padId =
    parts.padId ?? first(gen.pad_token_id) ?? first(raw.pad_token_id) ?? parts.tokenizer?.tokenId('<pad>') ?? eosId;
  let holders = 1;
  const handle: ModelHandle = {
    ...parts,
    eosId,
    padId,
    retain: () => {
      holders++;
      return handle;
    },
    dispose: () => {
      if (--holders === 0) parts.model.dispose();
    },
  };
  return handle;
}

/** The tokenizer of a handle, or a clear error for nodes that need text. */
export function requireTokenizer(h: ModelHandle, who: string): TextTokenizer {
  if (!h.tokenizer) throw new UserError(`${who} needs a tokenizer, but the model has no tokenizer.json`);
  return h.tokenizer;
}

/**
 * A deep copy whose weights are new variables (the input stays untouched), keeping only
 * `layers` (indices into the current model) and renumbering them 0..K−1; `prunedBy` (a node id)
 * adds the removal to the model's pruning history (`source.prunedBy`, in original layer numbers). Frozen bf16 weights
 * come back as f32 (exactly the values they stand for): the copy can train.
 */
export function cloneHandle(h: ModelHandle, layers?: readonly number[], prunedBy?: string): ModelHandle {
  const m = h.model;
  const keep = layers ?? [...Array(m.numLayers).keys()];
  const named = new Map<string, tf.Tensor>();
  const copy = (v: tf.Tensor) => (isPackedBf16(v) ? unpackBf16(v) : tf.clone(v));
  for (const [name, v] of namedWeights(m.weights)) {
    const layer = /^model\.layers\.(\d+)\.(.*)$/.exec(name);
    if (!layer) {
      named.set(name, copy(v));
      continue;
    }
    const to = keep.indexOf(Number(layer[1]));
    if (to >= 0) named.set(`model.layers.${to}.${layer[2]}`, copy(v));
  }
  const config = { ...m.config, numLayers: keep.length };
  const keptLayers = keep.map((i) => m.source.keptLayers[i]);
  const removed = m.source.keptLayers.filter((l) => !keptLayers.includes(l));
  const history = [...(m.source.prunedBy ?? []), ...(prunedBy && removed.length ? [{ node: prunedBy, removed }] : [])];
  const model = new DecoderModel(config, weightsFromNamed(config, named), {
    ...m.source,
    keptLayers,
    ...(history.length ? { prunedBy: history } : {}),
  });
  return makeHandle({ ...h, model });
}
