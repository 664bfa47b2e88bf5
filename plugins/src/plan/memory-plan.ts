import { createRequire } from 'node:module';
import { totalmem } from 'node:os';
import { type Diagnostic, type LoadedGraph, type ValidatedGraph } from '@e3/core';
import { loadAddon } from '@e3/native';
import { GraphShapes } from './graph-shapes.js';
import { NODE_ESTIMATORS, type NodeInput, type NodeMemory } from './node-memory.js';
import { gib, total, weights, type MemoryItem } from './stage-memory.js';

/** The wasm32 heap's hard bound: every tensor of a wasm run lives in it. */
export const WASM_HEAP_BYTES = 4 * 2 ** 30;

/** One node of the plan: what it holds at its peak, with the models resident while it runs. */
export interface NodePlan {
  readonly id: string;
  readonly plugin: string;
  readonly items: readonly MemoryItem[];
  /** Models made by earlier nodes and still held (weights of a teacher, a pruned copy, …). */
  readonly resident: readonly MemoryItem[];
  /** resident + items: everything (tensors and host). */
  readonly peakBytes: number;
  /** The part that lives in the tensor backend (the wasm heap on wasm). */
  readonly tensorBytes: number;
  readonly dominant?: string;
  readonly note?: string;
}

/** What the plan checks against. */
export interface PlanLimits {
  readonly backend: string;
  /** How the backend was known (started, named, or predicted for auto). */
  readonly how: string;
  /** Bytes of tensors the backend can hold, when it bounds them apart from host memory (wasm). */
  readonly tensorBytes?: number;
  /** Host memory: os.totalmem(). */
  readonly hostBytes: number;
  /** Whether blocks run as fused native kernels. */
  readonly fused: boolean;
  /**
   * How far the cpu backend's reuse of disposed outputs may take memory past the run's busiest
   * moment so far (the bufferPool option, native/src/host-heap.ts); 0 or absent without reuse.
   */
  readonly reuseSlackBytes?: number;
}

export interface MemoryPlan {
  readonly limits: PlanLimits;
  readonly nodes: readonly NodePlan[];
  readonly peak: { node: string; bytes: number };
  readonly problems: readonly Diagnostic[];
}

/** Whether a tfjs-node package is installed (what `auto` would try first). */
function tfjsNodeInstalled(): boolean {
  const require = createRequire(import.meta.url);
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(pkg);
      return true;
    } catch {
      /* not installed */
    }
  }
  return false;
}

/**
 * The limits of `backend` (`auto` is predicted as backend.ts would choose without a hardware
 * GPU: tensorflow when tfjs-node is installed, else wasm). `fusedOption`: the graph's `fused`;
 * `bufferPool`: the graph's bufferPool (MiB past the busiest moment, or false).
 */
export function limitsOf(
  backend: string,
  started: boolean,
  fusedOption: boolean,
  hostBytes = totalmem(),
  bufferPool: number | false = false,
): PlanLimits {
  let name = backend;
  let how = started ? 'started' : 'named in the graph';
  if (backend === 'auto') {
    name = tfjsNodeInstalled() ? 'tensorflow' : 'wasm';
    const why = name === 'wasm' ? 'no tfjs-node installed' : 'tfjs-node installed';
    how = `predicted for auto (${why}; a hardware GPU would make it webgpu)`;
  }
  const fused = (name === 'wasm' || name === 'cpu') && fusedOption && loadAddon() !== undefined;
  if (name === 'webgpu' || name === 'tensorflow') how += "; a GPU's memory is not known to the plan: host memory only";
  const reuseSlackBytes = name === 'cpu' && fused && bufferPool !== false ? bufferPool * 2 ** 20 : 0;
  const tensorBytes = name === 'wasm' ? WASM_HEAP_BYTES : undefined;
  return { backend: name, how, tensorBytes, hostBytes, fused, reuseSlackBytes };
}

/** The cpu backend's kept buffers past the busiest moment, as an item of every node (none when off). */
function reuseItems(l: PlanLimits): MemoryItem[] {
  if (!l.reuseSlackBytes) return [];
  return [
    { what: 'disposed outputs kept for reuse (backend bufferPool)', bytes: l.reuseSlackBytes, kind: 'transient' },
  ];
}

/** The first index at which each node's model is no longer needed (its last consumer, through holders). */
function lastUses(graph: ValidatedGraph, estimates: Map<string, NodeMemory>): Map<string, number> {
  const index = new Map(graph.order.map((id, i) => [id, i]));
  const consumers = new Map<string, { id: string; port: string }[]>();
  for (const id of graph.order) {
    for (const [port, wire] of Object.entries(graph.spec.nodes[id].in ?? {})) {
      const from = String(wire).split('.')[0];
      consumers.set(from, [...(consumers.get(from) ?? []), { id, port }]);
    }
  }
  const memo = new Map<string, number>();
  const last = (id: string): number => {
    if (memo.has(id)) return memo.get(id)!;
    memo.set(id, index.get(id)!);
    let end = index.get(id)!;
    for (const c of consumers.get(id) ?? []) {
      end = Math.max(end, index.get(c.id)!);
      if (estimates.get(c.id)?.holds?.includes(c.port)) end = Math.max(end, last(c.id));
    }
    memo.set(id, end);
    return end;
  };
  for (const id of graph.order) last(id);
  return memo;
}

function estimate(
  id: string,
  plugin: string,
  params: Record<string, any>,
  shapes: GraphShapes,
  limits: PlanLimits,
): NodeMemory {
  const f = NODE_ESTIMATORS[plugin];
  if (!f) return { items: [], note: `plugin ${plugin} declares no memory estimate (not counted)` };
  // The cpu backend counts references, so the fused AdamW updates in place (native/src/adamw.ts).
  const exec = { fused: limits.fused, inPlaceUpdate: limits.fused && limits.backend === 'cpu' };
  const input: NodeInput = { id, params, shapes, exec };
  return f(input);
}

const fits = (tensorBytes: number, peakBytes: number, l: PlanLimits) =>
  peakBytes <= l.hostBytes && (l.tensorBytes === undefined || tensorBytes <= l.tensorBytes);

/**
 * The memory plan of a validated graph: each node's estimate (node-memory.ts) plus the models
 * resident while it runs, in execution order, checked against the backend's limits. Nodes are
 * taken to run one after another in that order (independent branches may overlap in a run).
 */
export function planMemory(graph: ValidatedGraph, loaded: LoadedGraph, limits: PlanLimits): MemoryPlan {
  const shapes = new GraphShapes(graph);
  const estimates = new Map<string, NodeMemory>();
  for (const id of graph.order) {
    const n = graph.spec.nodes[id];
    estimates.set(id, estimate(id, n.plugin, (n.params ?? {}) as Record<string, any>, shapes, limits));
  }
  const ends = lastUses(graph, estimates);
  const nodes: NodePlan[] = [];
  const problems: Diagnostic[] = [];
  graph.order.forEach((id, i) => {
    const e = estimates.get(id)!;
    const resident = graph.order.slice(0, i).flatMap((from) => {
      const out = estimates.get(from)!.output;
      return out && ends.get(from)! >= i ? [weights(out, `${from}.model, resident`)] : [];
    });
    const all = [...resident, ...e.items, ...(e.items.length ? reuseItems(limits) : [])];
    const peakBytes = total(all);
    const tensorBytes = total(all, (x) => !x.host);
    const dominant = [...all].sort((a, b) => b.bytes - a.bytes)[0];
    nodes.push({
      id,
      plugin: graph.spec.nodes[id].plugin,
      items: e.items,
      resident,
      peakBytes,
      tensorBytes,
      dominant: dominant?.what,
      note: e.note,
    });
    if (!fits(tensorBytes, peakBytes, limits))
      problems.push(refusal(id, e, resident, peakBytes, tensorBytes, graph, loaded, shapes, limits));
  });
  const top = nodes.reduce((a, b) => (b.peakBytes > a.peakBytes ? b : a), nodes[0]);
  return { limits, nodes, peak: { node: top?.id ?? '', bytes: top?.peakBytes ?? 0 }, problems };
}

/** Whether node `id` fits, with the models resident when it runs, once `overrides` are set on its params. */
function fitsWith(
  id: string,
  overrides: Record<string, unknown>,
  resident: MemoryItem[],
  graph: ValidatedGraph,
  shapes: GraphShapes,
  l: PlanLimits,
): boolean {
  const n = graph.spec.nodes[id];
  const params = { ...((n.params ?? {}) as Record<string, any>), ...overrides };
  const items = [...resident, ...estimate(id, n.plugin, params, shapes, l).items, ...reuseItems(l)];
  return fits(
    total(items, (x) => !x.host),
    total(items),
    l,
  );
}

/** The memory options (trainer/memory-options.ts) of a training node, each alone, at which it would fit. */
function memoryOptionFixes(
  id: string,
  resident: MemoryItem[],
  graph: ValidatedGraph,
  shapes: GraphShapes,
  l: PlanLimits,
): [string, unknown][] {
  const params = (graph.spec.nodes[id].params ?? {}) as Record<string, any>;
  const options: [string, unknown][] = [];
  if (params.gradientCheckpointing === false) options.push(['gradientCheckpointing', true]);
  if (Array.isArray(params.freeze) && !params.freeze.includes('embeddings')) options.push(['freeze', ['embeddings']]);
  return options.filter(([param, value]) => fitsWith(id, { [param]: value }, resident, graph, shapes, l));
}

/** The largest value of integer param `param` (below its current one) at which the node fits, if any. */
function largestFitting(
  id: string,
  param: string,
  resident: MemoryItem[],
  graph: ValidatedGraph,
  shapes: GraphShapes,
  l: PlanLimits,
): number | undefined {
  const current = Number((graph.spec.nodes[id].params as Record<string, any> | undefined)?.[param]);
  const fitsAt = (v: number) => fitsWith(id, { [param]: v }, resident, graph, shapes, l);
  if (param === 'headChunkTokens') return [256, 64, 16, 4, 1].find(fitsAt);
  if (!(current > 1) || !fitsAt(1)) return undefined;
  let [lo, hi] = [1, current - 1];
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fitsAt(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function refusal(
  id: string,
  e: NodeMemory,
  resident: MemoryItem[],
  peakBytes: number,
  tensorBytes: number,
  graph: ValidatedGraph,
  loaded: LoadedGraph,
  shapes: GraphShapes,
  l: PlanLimits,
): Diagnostic {
  const biggest = [...resident, ...e.items]
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 3)
    .map((x) => `${x.what}: ${gib(x.bytes)}`);
  const limit =
    l.tensorBytes !== undefined && tensorBytes > l.tensorBytes
      ? `${gib(tensorBytes)} of tensors, more than backend ${l.backend} holds (${gib(l.tensorBytes)}: the wasm32 heap)`
      : `${gib(peakBytes)}, more than this machine's ${gib(l.hostBytes)} of memory`;
  const fixes: string[] = [];
  const knobs = [
    ...new Set(
      e.items
        .filter((x) => x.param)
        .sort((a, b) => b.bytes - a.bytes)
        .map((x) => x.param!),
    ),
  ];
  let field: string | undefined;
  for (const [param, option] of memoryOptionFixes(id, resident, graph, shapes, l)) {
    fixes.push(`set ${param}: ${JSON.stringify(option)}`);
    field ??= `params.${param}`;
  }
  for (const param of knobs) {
    const v = largestFitting(id, param, resident, graph, shapes, l);
    if (v === undefined) continue;
    fixes.push(`set ${param}: ${v} (or less)`);
    field ??= `params.${param}`;
  }
  if (l.tensorBytes !== undefined && peakBytes <= l.hostBytes)
    fixes.push(`backend: cpu (host memory, ${gib(l.hostBytes)} here)`);
  if (l.reuseSlackBytes && peakBytes - l.reuseSlackBytes <= l.hostBytes)
    fixes.push(`backend: { name: cpu, bufferPool: 0 } (keep no reused buffers past the run's peak)`);
  if (!fixes.length)
    fixes.push('a machine with more memory, or a smaller model (docs/SCALING.md gives the arithmetic)');
  const path = field ? ['nodes', id, ...field.split('.')] : ['nodes', id];
  return {
    ...loaded.sources.locate(path),
    node: id,
    field,
    message: `at its peak needs about ${limit} (largest: ${biggest.join('; ')})`,
    fix: fixes.join(', or '),
  };
}
