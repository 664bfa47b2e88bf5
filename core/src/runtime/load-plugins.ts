import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ContainerModule } from 'inversify';
import { UserError } from '../errors.js';
import { manifestModule } from '../registry/registry.js';
import type { ComponentManifest, PluginManifest } from '../registry/manifest.js';

/**
 * Packages a plugin shares with e3 (its peer dependencies): imported from e3's install
 * wherever the plugin lives, so that there is one inversify container and one tfjs engine.
 */
export const SHARED_PACKAGES = [
  '@e3/core',
  '@e3/plots',
  '@e3/cli',
  '@e3/plugins',
  'inversify',
  'reflect-metadata',
  'rxjs',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs',
];

/** e3's root directory (core/dist/runtime → ../../..). */
const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');
let hooks: Promise<void> | undefined;

/** Registers the shared-package resolution hook and, for `.ts` plugins, tsx (once per process). */
function installHooks(typescript: boolean): Promise<void> {
  hooks ??= (async () => {
    register(new URL('./shared-packages-hook.js', import.meta.url), {
      data: { host: import.meta.url, root: pathToFileURL(ROOT).href + '/', shared: SHARED_PACKAGES },
    });
  })();
  if (!typescript) return hooks;
  return hooks.then(async () => {
    const tsx = (await import('tsx/esm/api')) as { register(o: { tsconfig: string }): unknown };
    // e3's compiler options (legacy decorators, which inversify's @inject needs) for plugin sources.
    typescriptHook ??= tsx.register({ tsconfig: resolve(ROOT, 'tsconfig.plugins.json') });
  });
}
let typescriptHook: unknown;

const loaded = new Map<string, Promise<ContainerModule[]>>();

/**
 * Imports a user plugin module. It may export `default` or `modules` (ContainerModules),
 * or `plugins` / `components` (manifest arrays) which are wrapped in a module.
 */
export async function loadPluginModule(spec: string, cwd = process.cwd()): Promise<ContainerModule[]> {
  const { isPath, target } = pluginTarget(spec, cwd);
  if (isPath && !existsSync(target))
    throw new UserError(`plugin module ${spec} not found (resolved to ${target}); build it first or fix the path`);
  // The same module named twice (graph `plugins:` and --plugin, or two graphs) loads once.
  let once = loaded.get(target);
  if (!once) {
    once = importPluginModule(spec, isPath ? pathToFileURL(target).href : target, /\.[cm]?ts$/.test(target));
    loaded.set(target, once);
  }
  return once;
}

/** A plugin module spec is a path (relative to `cwd`) or a package name. */
function pluginTarget(spec: string, cwd: string): { isPath: boolean; target: string } {
  const isPath =
    spec.startsWith('.') || isAbsolute(spec) || existsSync(resolve(cwd, spec)) || /\.[cm]?[jt]s$/.test(spec);
  return { isPath, target: isPath ? resolve(cwd, spec) : spec };
}

/** The file a plugin module spec loads (a package name: its entry file), for hashing its code; undefined if unknown. */
export function pluginModuleFile(spec: string, cwd = process.cwd()): string | undefined {
  const { isPath, target } = pluginTarget(spec, cwd);
  if (isPath) return target;
  try {
    return fileURLToPath(import.meta.resolve(target));
  } catch {
    return undefined;
  }
}

/** Imports a module and collects what it registers; the first load of a module per process. */
async function importPluginModule(spec: string, url: string, typescript: boolean): Promise<ContainerModule[]> {
  await installHooks(typescript);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n').slice(0, 3).join(' ') : String(e);
    const esm =
      typescript && /require\(\)|ERR_REQUIRE/.test(why)
        ? '; a .ts plugin must be an ES module: name it .mts, or put a package.json with "type": "module" in its folder'
        : '';
    throw new UserError(`cannot load plugin module ${spec}: ${why}${esm}`);
  }
  const out: ContainerModule[] = [];
  if (mod.default instanceof ContainerModule) out.push(mod.default);
  if (Array.isArray(mod.modules)) out.push(...(mod.modules as ContainerModule[]));
  if (Array.isArray(mod.plugins) || Array.isArray(mod.components)) {
    out.push(manifestModule((mod.plugins ?? []) as PluginManifest[], (mod.components ?? []) as ComponentManifest[]));
  }
  if (!out.length)
    throw new UserError(
      `plugin module ${spec} exports nothing to register: export default a ContainerModule, or export plugins/components arrays`,
    );
  return out;
}
