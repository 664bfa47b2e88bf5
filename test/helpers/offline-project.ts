import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './files.js';

type LockEntry = {
  name?: string;
  version?: string;
  link?: boolean;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
};

/** Where `dep` resolves from the lock entry at `from`, by Node's lookup (nearest node_modules upwards). */
function resolveIn(lock: Record<string, LockEntry>, from: string, dep: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base ? base + '/' : ''}node_modules/${dep}`;
    if (lock[candidate]) return candidate;
    if (!base) return undefined;
    const i = base.lastIndexOf('/node_modules/');
    base = i >= 0 ? base.slice(0, i) : '';
  }
}

/**
 * Writes package.json and package-lock.json into `dir` for a project that depends on the packed
 * workspace packages (`tarballs`: package name → .tgz) and on `devPackages` (e.g. typescript), so
 * that `npm ci --offline` installs it from the npm cache alone. `npm ci` of the repository fills
 * that cache with every tarball but no registry metadata, so a plain `npm install --offline` of the
 * tarballs cannot resolve their dependencies' ranges; the repository's lock file pins them: its
 * entries reachable from the packed packages are copied, the workspaces' own moved under node_modules.
 */
export function writeOfflineProject(dir: string, tarballs: ReadonlyMap<string, string>, devPackages: string[]): void {
  const lock = (
    JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }
  ).packages;
  const workspaceOf = new Map<string, string>(); // folder → package name
  for (const [path, e] of Object.entries(lock))
    if (path && !path.startsWith('node_modules/') && e.name) workspaceOf.set(path, e.name);
  const moved = (path: string): string => {
    for (const [folder, name] of workspaceOf)
      if (path === folder || path.startsWith(folder + '/')) return `node_modules/${name}${path.slice(folder.length)}`;
    return path;
  };
  const reached = new Set<string>();
  const visit = (path: string): void => {
    if (reached.has(path)) return;
    reached.add(path);
    const e = lock[path];
    if (e.link && e.resolved) return visit(e.resolved);
    const deps = { ...e.dependencies, ...e.optionalDependencies, ...e.peerDependencies };
    for (const dep of Object.keys(deps)) {
      const at = resolveIn(lock, path, dep);
      if (at) visit(at);
      else if (!e.peerDependenciesMeta?.[dep]?.optional && !(dep in (e.optionalDependencies ?? {})))
        throw new Error(`package-lock.json: ${path} needs ${dep}, which the lock file does not hold (run npm install)`);
    }
  };
  for (const [folder, name] of workspaceOf) if (tarballs.has(name)) visit(folder);
  for (const p of devPackages) visit(`node_modules/${p}`);
  const dependencies: Record<string, string> = {};
  const devDependencies: Record<string, string> = {};
  const packages: Record<string, LockEntry> = {};
  for (const path of reached) {
    const e = lock[path];
    if (e.link) continue;
    const name = workspaceOf.get(path);
    if (name) {
      const file = tarballs.get(name);
      if (!file) throw new Error(`${name} is needed by a packed package but was not packed`);
      const spec = `file:${relative(dir, file)}`;
      const integrity = `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
      const { name: _n, devDependencies: _d, ...rest } = e;
      packages[moved(path)] = { ...rest, resolved: spec, integrity };
      dependencies[name] = spec;
    } else packages[moved(path)] = e;
  }
  for (const p of devPackages) devDependencies[p] = lock[`node_modules/${p}`].version ?? '*';
  const pkg = {
    name: 'outside-plugin',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies,
    devDependencies,
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  const root = { name: pkg.name, version: pkg.version, dependencies, devDependencies };
  const lockfile = {
    name: pkg.name,
    version: pkg.version,
    lockfileVersion: 3,
    requires: true,
    packages: { '': root, ...packages },
  };
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lockfile, null, 2) + '\n');
}
