import { Container, ContainerModule } from 'inversify';
import { UserError } from '../errors.js';
import { suggestion } from '../did-you-mean.js';
import type { ComponentManifest, PluginManifest } from './manifest.js';
import { COMPONENT_MANIFEST, PLUGIN_MANIFEST } from './tokens.js';

const KEY = /^[a-z][a-zA-Z0-9]*\.[a-z][a-zA-Z0-9]*$/;

/** A ContainerModule that registers plugin and component manifests. */
export function manifestModule(
  plugins: readonly PluginManifest[],
  components: readonly ComponentManifest[] = [],
): ContainerModule {
  return new ContainerModule(({ bind }) => {
    for (const p of plugins) bind<PluginManifest>(PLUGIN_MANIFEST).toConstantValue(p);
    for (const c of components) bind<ComponentManifest>(COMPONENT_MANIFEST).toConstantValue(c);
  });
}

/**
 * Everything a graph can name, read from the manifests bound in a container.
 * Keys must be `domain.camelName` and unique across plugins and components.
 */
export class Registry {
  readonly plugins = new Map<string, PluginManifest>();
  readonly components = new Map<string, ComponentManifest>();

  constructor(readonly container: Container) {
    const seen = new Set<string>();
    const add = <T extends { key: string }>(m: T, into: Map<string, T>, what: string) => {
      if (!KEY.test(m.key))
        throw new UserError(`${what} key "${m.key}" must look like domain.camelName (e.g. sampler.gumbelTopk)`);
      if (seen.has(m.key))
        throw new UserError(`duplicate registry key "${m.key}": two modules register it; rename one`);
      seen.add(m.key);
      into.set(m.key, m);
    };
    const all = <T>(id: symbol): T[] => (container.isBound(id) ? container.getAll<T>(id) : []);
    for (const p of all<PluginManifest>(PLUGIN_MANIFEST)) add(p, this.plugins, 'plugin');
    for (const c of all<ComponentManifest>(COMPONENT_MANIFEST)) add(c, this.components, 'component');
  }

  plugin(key: string): PluginManifest {
    const p = this.plugins.get(key);
    if (!p) throw new UserError(`unknown plugin "${key}": ${suggestion(key, [...this.plugins.keys()])}`);
    return p;
  }

  componentsOfKind(kind: string): string[] {
    return [...this.components.values()].filter((c) => c.kind === kind).map((c) => c.key);
  }
}
