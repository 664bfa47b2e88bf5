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
  type OutputGuard,
  type PluginManifest,
  type Progress,
  type RunInfo,
} from '@e3/core';
import type { ModelHandle } from '../model/handle.js';
import type { FloatDtype } from '../model/safetensors.js';
import { exportCheckpoint } from './export-checkpoint.js';
import type { PortInputs, Ports } from '../ports.js';
import type { Artifact } from './artifact.js';
export type { Artifact } from './artifact.js';

/** What `exporter.hf` emits: where the checkpoint went. */
export const exporterInputs = {
  model: { type: 'Model' },
  report: { type: 'Report', optional: true },
} as const satisfies Ports;

/** What an exporter node is told of the run: every exporter writes `dir` with the same guard. */
export interface ExporterBase {
  dir: string;
  force: boolean;
  method: string;
}

/** What every exporter passes to its writer: the guard, the report's files, progress, the stop signal. */
export type ExporterWriteOptions = OutputGuard & {
  method: string;
  extraFiles: Record<string, string>;
  progress: (done: number, total: number) => void;
  signal: AbortSignal;
};

/** What an exporter node needs from the container (each subclass injects it: see ExporterNode). */
export interface ExporterDeps {
  log: Logger;
  run: RunInfo;
  progress: Progress;
}

/**
 * The part every exporter node shares: the output directory resolved in the run directory and
 * checked when the graph is wired (and again when written), the report written beside the
 * export, progress by tensor, and the Artifact. `write` returns the path to log.
 */
export abstract class ExporterNodeBase<P extends ExporterBase> implements GraphNode<P> {
  protected abstract readonly plugin: string;
  protected abstract readonly example: string;
  protected abstract write(model: ModelHandle, dir: string, p: P, o: ExporterWriteOptions): Promise<string>;

  constructor(private readonly deps: ExporterDeps) {}

  connect(ports: PortInputs<typeof exporterInputs>, p: P, ctx: NodeContext) {
    const dir = resolve(this.deps.run.runDir, p.dir);
    const guard = {
      what: `node "${ctx.id}" (${this.plugin}) dir`,
      force: p.force,
      ownedBelow: this.deps.run.runDir,
      protect: [{ path: this.deps.run.runDir, what: 'the run directory' }],
      hint: `a relative dir is relative to the run directory, e.g. "${this.example}"`,
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
        const progress = trackProgress(this.deps.progress, ctx.id, { unit: 'tensors', what: `writing ${dir}` });
        const o = { ...guard, method: p.method, extraFiles, progress, signal: ctx.signal };
        const out = await this.write(model, dir, p, o);
        this.deps.log.info(`exported ${model.model.numLayers}-layer model to ${out}`);
        const { keptLayers, originalLayers } = model.model.source;
        return { dir, keptLayers, originalLayers };
      }),
    };
  }
}

interface Params extends ExporterBase {
  dtype?: FloatDtype;
  maxShardBytes: number;
}

/** `exporter.hf`: writes the model as a Hugging Face checkpoint (atomically), with the report beside it. */
@injectable()
export class ExporterNode extends ExporterNodeBase<Params> {
  protected readonly plugin = 'exporter.hf';
  protected readonly example = 'pruned';
  constructor(@inject(LOGGER) log: Logger, @inject(RUN_INFO) run: RunInfo, @inject(PROGRESS) progress: Progress) {
    super({ log, run, progress });
  }
  protected write(model: ModelHandle, dir: string, p: Params, o: ExporterWriteOptions): Promise<string> {
    return exportCheckpoint(model, dir, { ...o, dtype: p.dtype, maxShardBytes: p.maxShardBytes });
  }
}

export const exporterManifest: PluginManifest = {
  key: 'exporter.hf',
  doc: 'Exports a model as a Hugging Face checkpoint (config.json, safetensors, tokenizer files, e3_pruning.json, report).',
  inputs: exporterInputs,
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
