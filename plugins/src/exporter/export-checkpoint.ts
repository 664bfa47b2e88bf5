import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { isPackedBf16 } from '@e3/native';
import { stopPoint, writeDirAtomic, type OutputGuard, type ProtectedDir } from '@e3/core';
import type { ModelHandle } from '../model/handle.js';
import { writeSafetensors, type FloatDtype } from '../model/safetensors.js';
import { unpackBf16Values } from '../model/bf16-weights.js';

export interface ExportOptions {
  dtype?: FloatDtype;
  /** Replace an existing directory, if e3 wrote it (see checkReplaceable). */
  force?: boolean;
  /** How messages name the output (default "export directory"). */
  what?: string;
  /** More directories the export may not replace nor contain (the source model always is one). */
  protect?: readonly ProtectedDir[];
  /** e3's own outputs below this directory (the run directory) are replaced without `force`. */
  ownedBelow?: string;
  /** Added to a refusal (see OutputGuard.hint). */
  hint?: string;
  /** Recorded in e3_pruning.json: how the kept layers were chosen. */
  method?: string;
  /** Extra files (name → text) written beside the checkpoint, e.g. report.json. */
  extraFiles?: Record<string, string>;
  /** Split the weights into shards of at most this many bytes (0 = one file). */
  maxShardBytes?: number;
  /** Called with the tensors written so far and their number, before the first and after each. */
  progress?: (done: number, total: number) => void;
  /** Aborted when the run stops: the export throws CancelledError at the next tensor and leaves nothing. */
  signal?: AbortSignal;
}

/**
 * config.json for the exported model: `num_hidden_layers` = K, every per-layer list (any
 * array as long as the original layer count, e.g. `layer_types`) filtered to the kept
 * layers, and Qwen2's `max_window_layers` (a layer count) recounted over the kept layers.
 */
export function exportedConfig(h: ModelHandle): Record<string, unknown> {
  const src = h.model.source;
  const kept = src.keptLayers;
  const out: Record<string, unknown> = structuredClone(src.rawConfig);
  for (const [k, v] of Object.entries(out)) {
    if (Array.isArray(v) && v.length === src.originalLayers && src.originalLayers !== kept.length)
      out[k] = kept.map((i) => v[i]);
  }
  if (typeof out.max_window_layers === 'number') {
    const mwl = out.max_window_layers;
    out.max_window_layers = kept.filter((i) => i < mwl).length;
  }
  out.num_hidden_layers = kept.length;
  return out;
}

/**
 * Writes a Hugging Face checkpoint (config.json, safetensors, tokenizer files,
 * generation_config.json, e3_pruning.json) into a temporary directory and renames it into
 * place at the end: a failure leaves nothing at `dir`. Never replaces the source model, a directory
 * that contains it, or anything e3 did not write (see checkReplaceable).
 */
export async function exportCheckpoint(h: ModelHandle, dir: string, o: ExportOptions = {}): Promise<string> {
  const dtype = o.dtype ?? h.dtype;
  const tensors = h.model.named();
  const guard = exportGuard(h, o);
  return writeDirAtomic(
    dir,
    async (tmp) => {
      const config = { ...exportedConfig(h), torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[dtype] };
      writeFileSync(join(tmp, 'config.json'), JSON.stringify(config, null, 2) + '\n');
      await writeShards(tmp, tensors, dtype, o.maxShardBytes ?? 0, o);
      for (const [name, obj] of Object.entries(h.tokenizerFiles ?? {}))
        writeFileSync(join(tmp, name), JSON.stringify(obj, null, 2) + '\n');
      if (h.generationConfig)
        writeFileSync(join(tmp, 'generation_config.json'), JSON.stringify(h.generationConfig, null, 2) + '\n');
      writeExportRecord(tmp, h, o);
    },
    guard,
  );
}

/** The guard of an export directory: the source model is always protected (sealed). */
export function exportGuard(h: ModelHandle, o: Omit<ExportOptions, 'dtype'>): OutputGuard {
  const src = h.model.source;
  return {
    what: o.what ?? 'export directory',
    force: o.force,
    ownedBelow: o.ownedBelow,
    hint: o.hint,
    protect: [...(src.dir ? [{ path: src.dir, what: 'the source model', sealed: true }] : []), ...(o.protect ?? [])],
  };
}

/** e3_pruning.json (source, method, kept and removed layers) and the extra files, into `dir`. */
export function writeExportRecord(dir: string, h: ModelHandle, o: Pick<ExportOptions, 'method' | 'extraFiles'>): void {
  const src = h.model.source;
  const removed = [...Array(src.originalLayers).keys()].filter((i) => !src.keptLayers.includes(i));
  const record = {
    source: src.dir ?? null,
    method: o.method ?? (removed.length ? 'unknown' : 'none'),
    originalLayers: src.originalLayers,
    keptLayers: src.keptLayers,
    removedLayers: removed,
  };
  writeFileSync(join(dir, 'e3_pruning.json'), JSON.stringify(record, null, 2) + '\n');
  for (const [name, text] of Object.entries(o.extraFiles ?? {})) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

/**
 * The weights as one model.safetensors or as shards of at most `maxBytes` with an index,
 * written tensor by tensor (each read from the backend only when it is written).
 */
async function writeShards(
  dir: string,
  tensors: Map<string, tf.Tensor>,
  dtype: FloatDtype,
  maxBytes: number,
  o: Pick<ExportOptions, 'progress' | 'signal'>,
): Promise<void> {
  const values = (t: tf.Tensor) => (isPackedBf16(t) ? 2 : 1) * t.size;
  const bytesOf = (t: tf.Tensor) => values(t) * (dtype === 'F32' ? 4 : 2);
  let written = 0;
  o.progress?.(0, tensors.size);
  // Packed bf16 weights (a frozen model) are written as the f32 values they stand for.
  const read = async (name: string) => {
    if (written > 0) o.progress?.(written, tensors.size);
    written++;
    await stopPoint(o.signal);
    const t = tensors.get(name)!;
    return isPackedBf16(t) ? unpackBf16Values(t) : ((await t.data()) as Float32Array);
  };
  const total = [...tensors.values()].reduce((n, t) => n + bytesOf(t), 0);
  const shapes = (m: Map<string, tf.Tensor>) =>
    [...m].map(([name, t]): [string, { shape: number[] }] => [
      name,
      { shape: isPackedBf16(t) ? [t.shape[0], 2 * t.shape[1]!] : t.shape },
    ]);
  if (!(maxBytes > 0) || total <= maxBytes) {
    await writeSafetensors(join(dir, 'model.safetensors'), shapes(tensors), dtype, read);
    o.progress?.(tensors.size, tensors.size);
    return;
  }
  const shards: Map<string, tf.Tensor>[] = [new Map()];
  let size = 0;
  for (const [name, t] of [...tensors.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    if (size > 0 && size + bytesOf(t) > maxBytes) {
      shards.push(new Map());
      size = 0;
    }
    shards[shards.length - 1].set(name, t);
    size += bytesOf(t);
  }
  const weightMap: Record<string, string> = {};
  for (const [i, s] of shards.entries()) {
    const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    await writeSafetensors(join(dir, file), shapes(s), dtype, read);
    for (const name of s.keys()) weightMap[name] = file;
  }
  o.progress?.(tensors.size, tensors.size);
  const index = { metadata: { total_size: total }, weight_map: weightMap };
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index, null, 2) + '\n');
}
