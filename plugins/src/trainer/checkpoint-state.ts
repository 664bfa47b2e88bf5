import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError, writeDirAtomic } from '@e3/core';
import { encodeSafetensors, openSafetensors } from '../model/safetensors.js';

/** A training state on disk: named f32 tensors plus JSON (step, RNG state, data position…). */
export interface SavedState {
  step: number;
  json: Record<string, unknown>;
  tensors: Map<string, tf.Tensor>;
}

/**
 * Writes `dir` atomically (a temporary directory renamed over the old one), so a kill at
 * any moment leaves either the previous checkpoint or the new one, never a torn one.
 */
export async function saveState(dir: string, step: number, tensors: Map<string, tf.Tensor>, json: Record<string, unknown>): Promise<void> {
  const data = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of tensors) data.set(name, { shape: t.shape, data: (await t.data()) as Float32Array });
  await writeDirAtomic(dir, (tmp) => {
    writeFileSync(join(tmp, 'state.safetensors'), encodeSafetensors(data, 'F32'));
    writeFileSync(join(tmp, 'state.json'), JSON.stringify({ ...json, step }, null, 2));
  }, true);
}

/** Reads a state written by {@link saveState}, or undefined when there is none. */
export function loadState(dir: string): SavedState | undefined {
  const jsonFile = join(dir, 'state.json');
  if (!existsSync(jsonFile)) return undefined;
  let json: Record<string, unknown>;
  try { json = JSON.parse(readFileSync(jsonFile, 'utf8')); } catch { throw new UserError(`${jsonFile}: corrupt checkpoint (not JSON); delete ${dir} to start over`); }
  const f = openSafetensors(join(dir, 'state.safetensors'));
  const tensors = new Map<string, tf.Tensor>();
  for (const [name, e] of f.entries) tensors.set(name, tf.tensor(f.readFloat32(name), e.shape));
  return { step: Number(json.step), json, tensors };
}
