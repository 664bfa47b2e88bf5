import { inject, injectable } from 'inversify';
import { resolve } from 'node:path';
import {
  checkReplaceable,
  LOGGER,
  once,
  PROGRESS,
  RUN_INFO,
  trackProgress,
  type GraphNode,
  type Logger,
  type NodeContext,
  type PluginManifest,
  type Progress,
  type RunInfo,
} from '@e3/core';
import type { Artifact } from '../exporter/exporter-node.js';
import type { PortInputs, Ports } from '../ports.js';
import { exportGguf } from './export-gguf.js';
import { GGUF_DTYPES, type GgufDtype } from './gguf-model.js';

interface Params {
  dir: string;
  dtype?: GgufDtype;
  force: boolean;
  method: string;
}

const inputs = { model: { type: 'Model' }, report: { type: 'Report', optional: true } } as const satisfies Ports;

/** `exporter.gguf`: writes the model as one GGUF file for llama.cpp (atomically), with the report beside it. */
@injectable()
export class GgufExporterNode implements GraphNode<Params> {
  constructor(
    @inject(LOGGER) private readonly log: Logger,
    @inject(RUN_INFO) private readonly run: RunInfo,
    @inject(PROGRESS) private readonly progress: Progress,
  ) {}

  connect(ports: PortInputs<typeof inputs>, p: Params, ctx: NodeContext) {
    const dir = resolve(this.run.runDir, p.dir);
    const guard = {
      what: `node "${ctx.id}" (exporter.gguf) dir`,
      force: p.force,
      ownedBelow: this.run.runDir,
      protect: [{ path: this.run.runDir, what: 'the run directory' }],
      hint: 'a relative dir is relative to the run directory, e.g. "gguf"',
    };
    checkReplaceable(dir, guard); // now, before any node runs; again when the export is written
    return {
      artifact: once(ports, ['model', 'report'], async ({ model, report }): Promise<Artifact> => {
        const extraFiles: Record<string, string> = report
          ? {
              ...report.files,
              'report.json': JSON.stringify(report.json, null, 2) + '\n',
              'report.md': report.markdown,
            }
          : {};
        const progress = trackProgress(this.progress, ctx.id, { unit: 'tensors', what: `writing ${dir}` });
        const o = { ...guard, dtype: p.dtype, method: p.method, extraFiles, progress, signal: ctx.signal };
        const file = await exportGguf(model, dir, o);
        this.log.info(`exported ${model.model.numLayers}-layer GGUF to ${file}`);
        const { keptLayers, originalLayers } = model.model.source;
        return { dir, keptLayers, originalLayers };
      }),
    };
  }
}

export const ggufExporterManifest: PluginManifest = {
  key: 'exporter.gguf',
  doc:
    'Exports a model as one GGUF v3 file for llama.cpp (model.gguf: weights, architecture metadata, tokenizer, ' +
    'chat template), with e3_pruning.json and the report beside it.',
  inputs,
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
