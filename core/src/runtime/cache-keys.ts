import { createHash } from 'node:crypto';
import { wireEnds } from '../graph/spec.js';
import type { PreparedGraph } from './prepare.js';
import { nodeKeys, type NodeKey } from './node-keys.js';
import { UserError } from '../errors.js';
import { builtInCodeHash, pluginCodeHash } from '../cache/code-hash.js';
import type { NodeContent } from '../cache/cache-entry.js';
import type { FileHasher } from '../cache/file-hashes.js';
import { paramPaths } from '../cache/param-paths.js';

/** Every `component` key named in params (components carry their own code). */
function componentKeys(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) v.forEach((x) => componentKeys(x, out));
  else if (typeof v === 'object' && v !== null) {
    const c = (v as { component?: unknown }).component;
    if (typeof c === 'string') out.add(c);
    Object.values(v).forEach((x) => componentKeys(x, out));
  }
  return out;
}

/** The content of one node: the files its params name, hashed (memoised), and its code's hash. */
export function nodeContent(prepared: PreparedGraph, id: string, hasher: FileHasher): NodeContent {
  const spec = prepared.graph.spec.nodes[id];
  const manifest = prepared.registry.plugin(spec.plugin);
  const files: Record<string, string> = {};
  for (const p of paramPaths(spec.params ?? {}, manifest.params, prepared.registry)) {
    try {
      files[p.param] =
        p.kind === 'file'
          ? hasher.file(p.path)
          : createHash('sha256')
              .update(JSON.stringify(hasher.dir(p.path)))
              .digest('hex');
    } catch (e) {
      throw new UserError(
        `node ${id}: cannot read ${p.path} (params.${p.param}) to key the node cache: ` +
          `${(e as Error).message} (fix: check its permissions, or run without --cache)`,
      );
    }
  }
  const sources = new Set(
    [spec.plugin, ...componentKeys(spec.params)].flatMap((key) => prepared.pluginSources.get(key) ?? []),
  );
  const plugins = [...new Set([...sources].map((file) => pluginCodeHash(file, hasher)))].sort();
  return { files, code: { e3: builtInCodeHash(), plugins } };
}

/** The nodes whose cache keys matter: the deterministic ones (the cache's) and every node upstream of one. */
function keyedNodes(prepared: PreparedGraph): Set<string> {
  const { spec, order } = prepared.graph;
  const keyed = new Set<string>();
  for (const id of [...order].reverse()) {
    if (!keyed.has(id) && !prepared.registry.plugin(spec.nodes[id].plugin).deterministic) continue;
    keyed.add(id);
    for (const wire of Object.values(spec.nodes[id].in ?? {})) keyed.add(wireEnds(wire).node);
  }
  return keyed;
}

/**
 * The node cache's keys: the node keys of node-keys.ts (plugin, params, inputs' keys, seed), with
 * each node's {@link NodeContent} in its identity, so that a key changes when a checkpoint, data
 * file or tokenizer is rewritten in place, or when the plugin's code changes, and so does every key
 * downstream. Only deterministic nodes and those upstream of one are hashed (no other key is looked
 * up). Returns the keys and each node's content (recorded in the entries).
 */
export function cacheKeys(
  prepared: PreparedGraph,
  hasher: FileHasher,
  version: string,
): { keys: Map<string, NodeKey>; content: Map<string, NodeContent> } {
  const content = new Map<string, NodeContent>();
  for (const id of keyedNodes(prepared)) content.set(id, nodeContent(prepared, id, hasher));
  hasher.save();
  return { keys: nodeKeys(prepared.graph, version, (id) => content.get(id)), content };
}
