import { Container, ContainerModule } from 'inversify';
import { GraphError, UserError } from '../errors.js';
import { loadGraph, type LoadedGraph } from '../graph/load-graph.js';
import { validateGraph, type ValidatedGraph } from '../graph/validate.js';
import { Registry } from '../registry/registry.js';
import { loadPluginModule, pluginModuleFile } from './load-plugins.js';
import { COMPONENT_MANIFEST, PLUGIN_MANIFEST } from '../registry/tokens.js';

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
  /** Registry key → the file of the external plugin module that registered it (built-in keys are absent). */
  readonly pluginSources: ReadonlyMap<string, string>;
}

/** The plugin and component keys bound in a container so far. */
function boundKeys(container: Container): Set<string> {
  const ids = [PLUGIN_MANIFEST, COMPONENT_MANIFEST].filter((id) => container.isBound(id));
  return new Set(ids.flatMap((id) => container.getAll<{ key: string }>(id).map((m) => m.key)));
}

/** Loads, overlays, imports the graph's plugin modules, builds the registry and validates: no tensors yet. */
export async function prepareGraph(file: string, options: PrepareOptions): Promise<PreparedGraph> {
  const loaded = loadGraph(file, { sets: options.sets });
  const container = new Container({ autobind: true });
  container.load(...options.modules);
  const fromGraph = Array.isArray(loaded.spec.plugins) ? loaded.spec.plugins : [];
  const problems = [];
  const seen = new Set<ContainerModule>(); // a module named twice (plugins: and --plugin) registers once
  const pluginSources = new Map<string, string>();
  for (const [i, spec] of [
    ...fromGraph.map((p, i) => [i, p] as const),
    ...(options.pluginPaths ?? []).map((p) => [-1, p] as const),
  ]) {
    try {
      const fresh = (await loadPluginModule(spec)).filter((m) => !seen.has(m));
      fresh.forEach((m) => seen.add(m));
      const before = boundKeys(container);
      container.load(...fresh);
      const file = pluginModuleFile(spec);
      if (file) for (const key of boundKeys(container)) if (!before.has(key)) pluginSources.set(key, file);
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
  return { loaded, graph, registry, container, pluginSources };
}
