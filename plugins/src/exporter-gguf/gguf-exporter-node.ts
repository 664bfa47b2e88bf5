import { inject, injectable } from 'inversify';
import { LOGGER, PROGRESS, RUN_INFO, type Logger, type PluginManifest, type Progress, type RunInfo } from '@e3/core';
import type { ModelHandle } from '../model/handle.js';
import {
  exporterInputs,
  ExporterNodeBase,
  type ExporterBase,
  type ExporterWriteOptions,
} from '../exporter/exporter-node.js';
import { exportGguf } from './export-gguf.js';
import { GGUF_DTYPES, type GgufDtype } from './gguf-model.js';

interface Params extends ExporterBase {
  dtype?: GgufDtype;
}

/** `exporter.gguf`: writes the model as one GGUF file for llama.cpp (atomically), with the report beside it. */
@injectable()
export class GgufExporterNode extends ExporterNodeBase<Params> {
  protected readonly plugin = 'exporter.gguf';
  protected readonly example = 'gguf';
  constructor(@inject(LOGGER) log: Logger, @inject(RUN_INFO) run: RunInfo, @inject(PROGRESS) progress: Progress) {
    super({ log, run, progress });
  }
  protected write(model: ModelHandle, dir: string, p: Params, o: ExporterWriteOptions): Promise<string> {
    return exportGguf(model, dir, { ...o, dtype: p.dtype });
  }
}

export const ggufExporterManifest: PluginManifest = {
  key: 'exporter.gguf',
  doc:
    'Exports a model as one GGUF v3 file for llama.cpp (model.gguf: weights, architecture metadata, tokenizer, ' +
    'chat template), with e3_pruning.json and the report beside it.',
  inputs: exporterInputs,
  outputs: { artifact: { type: 'Artifact' } },
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      dir: {
        type: 'string',
        default: 'gguf',
        description:
          'output directory, relative to the run directory (${run.dir}); holds model.gguf; written atomically',
      },
      dtype: {
        enum: [...GGUF_DTYPES],
        description:
          "storage type of the matrices (default: the source checkpoint's float type); norms and biases stay F32; " +
          'Q8_0 = blocks of 32 int8 with an f16 scale',
      },
      force: {
        type: 'boolean',
        default: false,
        description: 'replace an existing directory outside the run directory, if e3 wrote it (holds e3_pruning.json)',
      },
      method: { type: 'string', default: 'e3-pruner', description: 'recorded in e3_pruning.json' },
    },
  },
  node: GgufExporterNode,
};
