/** A node as written in YAML: which plugin, its params, and its input wires (`port: node.port`). */
export interface NodeSpec {
  plugin: string;
  params?: Record<string, unknown>;
  in?: Record<string, string>;
}

/** A whole graph after `extends`, `set`, `--set` and `${vars}` are applied. */
export interface GraphSpec {
  apiVersion: string;
  vars?: Record<string, unknown>;
  seed?: number;
  /** A backend name, or `{ name, native, fused, threads }` (core/src/services/backend.ts). */
  backend?: string | Record<string, unknown>;
  /** A run that makes no progress for this many seconds fails, naming the node it waits on (default 1800). */
  stallSeconds?: number;
  /** Module paths, resolved to absolute paths by the loader. */
  plugins?: string[];
  /** Gone once loaded: the loader unrolls each group into its rounds' nodes (graph/repeat.ts). */
  repeat?: Record<string, RepeatSpec>;
  nodes: Record<string, NodeSpec>;
}

/** A `repeat:` group as written: its nodes run `times` rounds, round k+1 reading round k's `carry` outputs. */
export interface RepeatSpec {
  times: number;
  in?: Record<string, string>;
  carry?: Record<string, string>;
  nodes: Record<string, NodeSpec>;
}

/** The keys a graph file may have at its top level (overlays add `extends` and `set`). */
export const TOP_LEVEL_KEYS = [
  'apiVersion',
  'vars',
  'seed',
  'backend',
  'stallSeconds',
  'plugins',
  'repeat',
  'nodes',
] as const;

/** `node.port` → its two halves, or undefined when the wire is not of that form (a round's node: `round1.x.port`). */
export function parseWire(wire: string): { node: string; port: string } | undefined {
  const m = /^([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)?)\.([A-Za-z_]\w*)$/.exec(wire);
  return m ? { node: m[1], port: m[2] } : undefined;
}

/** The node and port of a wire of a validated graph (validateGraph refuses any wire parseWire does not read). */
export function wireEnds(wire: string): { node: string; port: string } {
  const ends = parseWire(wire);
  if (!ends) throw new Error(`"${wire}" is not a node.port wire: the graph was not validated`);
  return ends;
}
