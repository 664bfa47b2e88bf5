import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ContainerModule } from 'inversify';
import { UserError } from '../errors.js';
import { manifestModule } from '../registry/registry.js';
import type { ComponentManifest, PluginManifest } from '../registry/manifest.js';

/**
 * Imports a user plugin module. It may export `default` or `modules` (ContainerModules),
 * or `plugins` / `components` (manifest arrays) which are wrapped in a module.
 */
export async function loadPluginModule(spec: string, cwd = process.cwd()): Promise<ContainerModule[]> {
  const isPath = spec.startsWith('.') || isAbsolute(spec) || existsSync(resolve(cwd, spec)) || /\.[cm]?js$/.test(spec);
  const target = isPath ? resolve(cwd, spec) : spec;
  if (isPath && !existsSync(target)) throw new UserError(`plugin module ${spec} not found (resolved to ${target}); build it first or fix the path`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(isPath ? pathToFileURL(target).href : target)) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`cannot load plugin module ${spec}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  const out: ContainerModule[] = [];
  if (mod.default instanceof ContainerModule) out.push(mod.default);
  if (Array.isArray(mod.modules)) out.push(...(mod.modules as ContainerModule[]));
  if (Array.isArray(mod.plugins) || Array.isArray(mod.components)) {
    out.push(manifestModule((mod.plugins ?? []) as PluginManifest[], (mod.components ?? []) as ComponentManifest[]));
  }
  if (!out.length) throw new UserError(`plugin module ${spec} exports nothing to register: export default a ContainerModule, or export plugins/components arrays`);
  return out;
}
