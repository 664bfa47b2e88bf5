import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { wireEnds } from '../graph/spec.js';
import type { ValidatedGraph } from '../graph/validate.js';
import type { ArtifactStore } from '../services/artifact-store.js';
import type { Logger } from '../services/logger.js';
import { firstDifference } from './first-difference.js';

/** A node's identity in a run: its resolved spec and a hash of it and of its inputs' keys. */
export interface NodeKey {
  readonly key: string;
  readonly spec: unknown;
}

export const NODE_KEYS_FILE = 'node-keys.json';

/**
 * Keys every node by its plugin, its resolved params (defaults filled in), the keys of the
 * nodes that feed it (so a change upstream changes everything downstream), the run's seed
 * (every node's random stream derives from it) and the e3 version. Two nodes with one key compute the same thing.
 * `content`, when given, adds what a node's identity holds beyond its spec (the node cache's
 * file and code hashes, cache-keys.ts).
 */
export function nodeKeys(
  graph: ValidatedGraph,
  version: string,
  content?: (id: string) => unknown,
): Map<string, NodeKey> {
  const keys = new Map<string, NodeKey>();
  const seed = graph.spec.seed ?? 0;
  for (const id of graph.order) {
    const spec = graph.spec.nodes[id];
    const inputs = Object.fromEntries(
      Object.entries(spec.in ?? {}).map(([port, wire]) => {
        const { node, port: out } = wireEnds(wire);
        return [port, `${keys.get(node)!.key}.${out}`];
      }),
    );
    const own = { plugin: spec.plugin, params: spec.params ?? {}, seed };
    const identity = JSON.stringify({ ...own, inputs, version, ...(content && { content: content(id) }) });
    const key = createHash('sha256').update(identity).digest('hex').slice(0, 16);
    keys.set(id, { key, spec: JSON.parse(JSON.stringify(own)) });
  }
  return keys;
}

/** The keys recorded in the run directory; empty (so nothing saved is trusted) when missing or unreadable. */
function readSaved(store: ArtifactStore, log: Logger): Record<string, NodeKey> {
  const file = store.path(NODE_KEYS_FILE);
  if (!existsSync(file)) return {}; // e.g. a run directory of an older e3: nothing saved can be matched
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, NodeKey>;
  } catch {
    log.warn(`${file} is unreadable; no saved node state can be trusted, so every node starts afresh`);
    return {};
  }
}

/**
 * Makes sure a resumed node only picks up state saved for the same computation: each node
 * whose key differs from the one recorded in the run directory (its params or an upstream
 * node changed) loses its saved state and reruns, and the log says why. Then records the keys.
 * Returns the ids of the nodes that rerun.
 */
export function reconcileNodeState(store: ArtifactStore, keys: Map<string, NodeKey>, log: Logger): string[] {
  const saved = readSaved(store, log);
  const rerun: string[] = [];
  for (const [id, k] of keys) {
    const before = saved[id];
    if (before?.key === k.key) continue;
    const dir = store.checkpointDir(id);
    if (!existsSync(dir)) continue;
    const change = before ? firstDifference(before.spec, k.spec, []) : undefined;
    const why = !before
      ? 'no record of what it computed'
      : change
        ? `"${change}" changed`
        : 'an input or the e3 version changed';
    log.info(`node ${id}: ${why} since its state was saved; discarding ${dir} and rerunning it`);
    rmSync(dir, { recursive: true, force: true });
    rerun.push(id);
  }
  store.writeJson(NODE_KEYS_FILE, Object.fromEntries(keys));
  return rerun;
}
