import { Container } from 'inversify';
import { firstValueFrom, of, type Observable } from 'rxjs';
import {
  ARTIFACTS,
  ArtifactStore,
  checkNodeParams,
  CLOCK,
  Clock,
  instantiateComponents,
  LOGGER,
  Logger,
  nodeContainer,
  PROGRESS,
  Progress,
  Registry,
  RNG,
  Rng,
  RUN_INFO,
  type GraphNode,
  type RunInfo,
} from '@e3/core';
import { builtinModules } from '@e3/plugins';
import { tempDir } from './files.js';

export interface RunNodeOptions {
  /** The run seed (the node's RNG is it forked by the node id, as in a run). */
  readonly seed?: number;
  /** The node id (default: the plugin key's second half). */
  readonly id?: string;
  /** Run directory (default: a fresh temporary one). */
  readonly runDir?: string;
}

export interface NodeRun {
  /** The first value of each output port. */
  readonly outputs: Record<string, unknown>;
  /** What the node logged. */
  readonly log: string[];
  readonly runDir: string;
}

/**
 * Runs one built-in node alone: its params are validated as `e3 validate` does (defaults filled, components
 * checked, with the given inputs counted as wired) and its components built as in a run, its services are the run's (RNG forked by node id, logger, quiet progress,
 * an artifact store in `runDir`), and each input port emits the given fake value once.
 * Resolves with the first value of each output.
 */
export async function runNode(
  plugin: string,
  params: Record<string, unknown>,
  inputs: Record<string, unknown>,
  opts: RunNodeOptions = {},
): Promise<NodeRun> {
  const container = new Container({ autobind: true });
  container.load(...builtinModules);
  const registry = new Registry(container);
  const manifest = registry.plugin(plugin);
  const problems: string[] = [];
  const wired = new Set(Object.keys(inputs));
  checkNodeParams(params, [], { id: plugin, manifest, wired }, registry, (path, message) =>
    problems.push(`${path.join('.')}: ${message}`),
  );
  if (problems.length) throw new Error(`${plugin} params: ${problems.join('; ')}`);
  const id = opts.id ?? plugin.split('.')[1];
  const runDir = opts.runDir ?? tempDir();
  const seed = opts.seed ?? 0;
  const log: string[] = [];
  container.bind(RNG).toConstantValue(new Rng(seed));
  container.bind(LOGGER).toConstantValue(new Logger('info', 'e3', (line) => log.push(line)));
  container.bind(PROGRESS).toConstantValue(new Progress(process.stderr, true));
  container.bind(ARTIFACTS).toConstantValue(new ArtifactStore(runDir));
  container.bind(CLOCK).toConstantValue(new Clock());
  container.bind(RUN_INFO).toConstantValue({ runDir, graphFile: '(runNode)', seed, resume: false } satisfies RunInfo);
  const scoped = nodeContainer(container, id);
  const node = scoped.get<GraphNode>(manifest.node);
  const built = instantiateComponents(manifest.params, params, registry, scoped);
  const streams: Record<string, Observable<unknown>> = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [k, of(v)]),
  );
  const outputs = node.connect(streams, built, { id, signal: new AbortController().signal });
  const values: Record<string, unknown> = {};
  for (const [port, stream] of Object.entries(outputs)) values[port] = await firstValueFrom(stream);
  return { outputs: values, log, runDir };
}
