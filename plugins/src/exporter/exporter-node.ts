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
import type { FloatDtype } from '../model/safetensors.js';
import { exportCheckpoint } from './export-checkpoint.js';
import type { PortInputs, Ports } from '../ports.js';
import type { Artifact } from './artifact.js';
export type { Artifact } from './artifact.js';

interface Params {
  dir: string;
  dtype?: FloatDtype;
  force: boolean;
  method: string;
  maxShardBytes: number;
}

/** What `exporter.hf` emits: where the checkpoint went. */
const inputs = { model: { type: 'Model' }, report: { type: 'Report', optional: true } } as const satisfies Ports;

/** `exporter.hf`: writes the model as a Hugging Face checkpoint (atomically), with the report beside it. */
@injectable()
export class ExporterNode implements GraphNode<Params> {
  constructor(
    @inject(LOGGER) private readonly log: Logger,
    @inject(RUN_INFO) private readonly run: RunInfo,
    @inject(PROGRESS) private readonly progress: Progress,
  ) {}

  connect(ports: PortInputs<typeof inputs>, p: Params, ctx: NodeContext) {
    const dir = resolve(this.run.runDir, p.dir);
    const guard = {
      what: `node "${ctx.id}" (exporter.hf) dir`,
      force: p.force,
      ownedBelow: this.run.runDir,
      protect: [{ path: this.run.runDir, what: 'the run directory' }],
      hint: 'a relative dir is relative to the run directory, e.g. "pruned"',
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
        const o = {
          ...guard,
          dtype: p.dtype,
          method: p.method,
          extraFiles,
          maxShardBytes: p.maxShardBytes,
          progress,
          signal: ctx.signal,
        };
        const out = await exportCheckpoint(model, dir, o);
        this.log.info(`exported ${model.model.numLayers}-layer checkpoint to ${out}`);
        const { keptLayers, originalLayers } = model.model.source;
        return { dir: out, keptLayers, originalLayers };
      }),
    };
  }
}

export const exporterManifest: PluginManifest = {
  key: 'exporter.hf',
  doc: 'Exports a model as a Hugging Face checkpoint (config.json, safetensors, tokenizer files, e3_pruning.json, report).',
  inputs,
  outputs: { artifact: { type: 'Artifact' } },
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      dir: {
        type: 'string',
        default: 'pruned',
        description: 'output directory, relative to the run directory (${run.dir}); written atomically',
      },
      dtype: { enum: ['F32', 'F16', 'BF16'], description: "storage dtype (default: the source checkpoint's)" },
      force: {
        type: 'boolean',
        default: false,
        description: 'replace an existing directory outside the run directory, if e3 wrote it (holds e3_pruning.json)',
      },
      method: { type: 'string', default: 'e3-pruner', description: 'recorded in e3_pruning.json' },
      maxShardBytes: {
        type: 'integer',
        minimum: 0,
        default: 0,
        description: 'shard the weights above this size (0 = one file)',
      },
    },
  },
  node: ExporterNode,
};
