import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { pidAlive, UserError } from '@e3/core';
import { writeSafetensors, openSafetensors } from '../model/safetensors.js';

/** A training state on disk: named f32 tensors plus JSON (step, RNG state, data position…). */
export interface SavedState {
  step: number;
  json: Record<string, unknown>;
  tensors: Map<string, tf.Tensor>;
}

const STEP_DIR = /^step-(\d+)$/;
const PARTIAL = /^step-\d+\.partial-(\d+)$/;

/** The complete saved states under `dir`, newest first (a state directory appears by one rename). */
function stateDirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => STEP_DIR.test(n))
    .sort()
    .reverse()
    .map((n) => join(dir, n));
}

/** The newest complete state directory under `dir`, or undefined when there is none. */
export function latestStateDir(dir: string): string | undefined {
  const legacy = existsSync(join(dir, 'state.json')) ? [dir] : [];
  return [...stateDirs(dir), ...legacy][0];
}

/**
 * Writes the state of `step` as `dir/step-N/` (filled under a temporary name, then renamed in)
 * and only then deletes the older states, so a kill at any instant leaves at least one
 * complete checkpoint. Temporary directories of killed processes are removed.
 */
export async function saveState(
  dir: string,
  step: number,
  tensors: Map<string, tf.Tensor>,
  json: Record<string, unknown>,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const target = join(dir, `step-${String(step).padStart(9, '0')}`);
  if (!existsSync(target)) {
    const tmp = `${target}.partial-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    // Tensor by tensor: a real-size state (a 0.6B student's weights and AdamW moments: 5.8 GB) is
    // more than one Buffer holds (4 GiB), and one copy of it all would double the peak.
    const read = async (name: string) => (await tensors.get(name)!.data()) as Float32Array;
    await writeSafetensors(join(tmp, 'state.safetensors'), tensors, 'F32', read);
    writeFileSync(join(tmp, 'state.json'), JSON.stringify({ ...json, step }, null, 2));
    renameSync(tmp, target);
  }
  for (const old of stateDirs(dir).filter((d) => d !== target)) rmSync(old, { recursive: true, force: true });
  for (const legacy of ['state.json', 'state.safetensors']) rmSync(join(dir, legacy), { force: true });
  for (const n of readdirSync(dir)) {
    const m = PARTIAL.exec(n);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(dir, n), { recursive: true, force: true });
  }
}

/** Reads the newest state written by {@link saveState}, or undefined when there is none. */
export function loadState(dir: string): SavedState | undefined {
  const stateDir = latestStateDir(dir);
  if (!stateDir) return undefined;
  const jsonFile = join(stateDir, 'state.json');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(jsonFile, 'utf8'));
  } catch {
    throw new UserError(`${jsonFile}: corrupt checkpoint (not JSON); delete ${stateDir} to start over`);
  }
  const f = openSafetensors(join(stateDir, 'state.safetensors'));
  const tensors = new Map<string, tf.Tensor>();
  for (const [name, e] of f.entries) tensors.set(name, tf.tensor(f.readFloat32(name), e.shape));
  return { step: Number(json.step), json, tensors };
}
