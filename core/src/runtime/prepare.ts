import { Container, ContainerModule } from 'inversify';
import { GraphError, UserError } from '../errors.js';
import { loadGraph, type LoadedGraph } from '../graph/load-graph.js';
import { validateGraph, type ValidatedGraph } from '../graph/validate.js';
import { Registry } from '../registry/registry.js';
import { loadPluginModule } from './load-plugins.js';

export interface PrepareOptions {
  readonly sets?: readonly string[];
  /** Built-in modules (the project's plugins). */
  readonly modules: readonly ContainerModule[];
  /** Extra plugin module paths from the CLI (`--plugin`). */
  readonly pluginPaths?: readonly string[];
}

export interface PreparedGraph {
  readonly loaded: LoadedGraph;
  readonly graph: ValidatedGraph;
  readonly registry: Registry;
  readonly container: Container;
}

/** Loads, overlays, imports the graph's plugin modules, builds the registry and validates: no tensors yet. */
export async function prepareGraph(file: string, options: PrepareOptions): Promise<PreparedGraph> {
  const loaded = loadGraph(file, { sets: options.sets });
  const container = new Container({ autobind: true });
  container.load(...options.modules);
  const fromGraph = Array.isArray(loaded.spec.plugins) ? loaded.spec.plugins : [];
  const problems = [];
  const seen = new Set<ContainerModule>(); // a module named twice (plugins: and --plugin) registers once
  for (const [i, spec] of [
    ...fromGraph.map((p, i) => [i, p] as const),
    ...(options.pluginPaths ?? []).map((p) => [-1, p] as const),
  ]) {
    try {
      const fresh = (await loadPluginModule(spec)).filter((m) => !seen.has(m));
      fresh.forEach((m) => seen.add(m));
      container.load(...fresh);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      problems.push({
        ...(i >= 0 ? loaded.sources.locate(['plugins', i]) : { file: `--plugin ${spec}` }),
        field: i >= 0 ? `plugins.${i}` : undefined,
        message: e.message,
        fix: 'check the path (relative to the graph file)',
      });
    }
  }
  if (problems.length) throw new GraphError(problems);
  const registry = new Registry(container);
  const graph = validateGraph(loaded, registry);
  return { loaded, graph, registry, container };
}
