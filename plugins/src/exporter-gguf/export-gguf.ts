import { join } from 'node:path';
import { stopPoint, writeDirAtomic } from '@e3/core';
import type { ModelHandle } from '../model/handle.js';
import { exportGuard, writeExportRecord, type ExportOptions } from '../exporter/export-checkpoint.js';
import { writeGguf } from './gguf-file.js';
import { architectureMetadata, ggufTensors, type GgufDtype } from './gguf-model.js';
import { tokenizerMetadata } from './gguf-tokenizer.js';

/** The file name of the model inside a GGUF export directory. */
export const GGUF_FILE = 'model.gguf';

export interface GgufExportOptions extends Omit<ExportOptions, 'dtype' | 'maxShardBytes'> {
  /** Storage type of the matrices (default: the source checkpoint's float type). */
  dtype?: GgufDtype;
}

/**
 * Writes the model as one GGUF v3 file for llama.cpp (`<dir>/model.gguf`), with e3_pruning.json
 * and the extra files beside it, atomically and under the same guard as the Hugging Face export:
 * a failure leaves nothing at `dir`. Returns the path of the .gguf file.
 */
export async function exportGguf(h: ModelHandle, dir: string, o: GgufExportOptions = {}): Promise<string> {
  const dtype = o.dtype ?? h.dtype;
  // Everything that can refuse the model (architecture, tokenizer) is checked before writing.
  const metadata = [...architectureMetadata(h, dtype), ...tokenizerMetadata(h)];
  const tensors = ggufTensors(h, dtype, () => stopPoint(o.signal));
  o.progress?.(0, tensors.length);
  const out = await writeDirAtomic(
    dir,
    async (tmp) => {
      await writeGguf(join(tmp, GGUF_FILE), metadata, tensors, (done) => o.progress?.(done, tensors.length));
      writeExportRecord(tmp, h, o);
    },
    exportGuard(h, o),
  );
  return join(out, GGUF_FILE);
}
