import type { NodeParams } from './node-params.js';
import { createRequire } from 'node:module';
import { totalmem } from 'node:os';
import { parseWire, type Diagnostic, type LoadedGraph, type Registry, type ValidatedGraph } from '@e3/core';
import { choosePrecision, loadAddon, WASM_HEAP_BYTES, type Precision } from '@e3/native';
import { GraphShapes } from './graph-shapes.js';
import type { MemoryEstimator, NodeInput, NodeMemory, StepBatch } from './node-memory.js';
import { gib, total, weights, type MemoryItem } from './stage-memory.js';

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
  /** What the plan chose for the node's step (params it left `auto`); the items are estimated with it. */
  readonly step?: StepChoice;
}

/**
 * The memory plan's choice for a training node whose `microBatch` or `gradientCheckpointing` is
 * `auto`: the largest micro-batch that fits, without gradient checkpointing when one does, else
 * with it (evened out: 64 in micro-batches of at most 24 runs as 3 of 22). Pinned values are kept.
 */
export interface StepChoice {
  readonly microBatch: number;
  readonly gradientCheckpointing: boolean;
  /** The node's batch (its effective batch: batchSize, or the search's clamped searchBatchSize). */
  readonly batch: number;
  /** Peak bytes of the node at the whole batch without checkpointing (or as pinned), when that does not fit. */
  readonly wholeBytes?: number;
  /** Whether anything fits: when not, the plan refuses the node at the whole batch (or the pinned values). */
  readonly fits: boolean;
  /** Why, for the log and `e3 plan`, when the step is not the plain one; what was tried, when nothing fits. */
  readonly why?: string;
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
  /**
   * Fused blocks' products from this many multiply-adds run in bf16 and read bf16 copies of the f32
   * weights (backend precision, native/src/precision.ts): 0 for every product, absent for none (f32).
   */
  readonly bf16MinWork?: number;
}

export interface MemoryPlan {
  readonly limits: PlanLimits;
  readonly nodes: readonly NodePlan[];
  readonly peak: { node: string; bytes: number };
  readonly problems: readonly Diagnostic[];
  /** The params chosen for nodes' steps (see StepChoice), as a run applies them. */
  readonly choices: readonly { node: string; params: Record<string, unknown>; why?: string }[];
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
 * GPU: tensorflow when tfjs-node is installed, else wasm). `started`: whether the backend runs already;
 * `fused`: the graph's `fused`; `bufferPool`: the graph's bufferPool (MiB past the busiest moment, or
 * false); `precision`: the graph's; `hostBytes`: the machine's memory (os.totalmem() unless given).
 */
export function limitsOf(
  backend: string,
  o: { started: boolean; fused: boolean; hostBytes?: number; bufferPool?: number | false; precision?: Precision },
): PlanLimits {
  const { started, fused: fusedOption, hostBytes = totalmem(), bufferPool = false, precision = 'f32' } = o;
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
  const choice = choosePrecision(precision, fused ? loadAddon() : undefined);
  const bf16MinWork = choice.used === 'bf16' ? 0 : choice.used === 'bf16-large' ? choice.minWork : undefined;
  return { backend: name, how, tensorBytes, hostBytes, fused, reuseSlackBytes, bf16MinWork };
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
      const from = parseWire(String(wire))?.node ?? '';
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

function estimate(id: string, plugin: string, params: NodeParams, shapes: GraphShapes, limits: PlanLimits): NodeMemory {
  const f = shapes.estimator<MemoryEstimator>(plugin, 'memory');
  if (!f) return { items: [], note: `unknown: plugin ${plugin} declares no memory estimator (not counted)` };
  // The cpu backend counts references, so the fused AdamW updates in place (native/src/adamw.ts).
  const exec = {
    fused: limits.fused,
    inPlaceUpdate: limits.fused && limits.backend === 'cpu',
    bf16MinWork: limits.bf16MinWork,
  };
  const input: NodeInput = { id, params, shapes, exec };
  return f(input);
}

/** A node of the plan where it runs: its plugin, the models resident then, the graph's shapes and the limits. */
interface NodeAt {
  readonly id: string;
  readonly plugin: string;
  readonly resident: MemoryItem[];
  readonly shapes: GraphShapes;
  readonly l: PlanLimits;
}

const fits = (tensorBytes: number, peakBytes: number, l: PlanLimits) =>
  peakBytes <= l.hostBytes && (l.tensorBytes === undefined || tensorBytes <= l.tensorBytes);

/**
 * The memory plan of a validated graph: each node's estimate (its plugin's `estimate.memory`) plus the models
 * resident while it runs, in execution order, checked against the backend's limits. Nodes are
 * taken to run one after another in that order (independent branches may overlap in a run).
 */
export function planMemory(
  graph: ValidatedGraph,
  loaded: LoadedGraph,
  limits: PlanLimits,
  registry: Registry,
): MemoryPlan {
  const shapes = new GraphShapes(graph, registry);
  const estimates = new Map<string, NodeMemory>();
  for (const id of graph.order) {
    const n = graph.spec.nodes[id];
    estimates.set(id, estimate(id, n.plugin, (n.params ?? {}) as NodeParams, shapes, limits));
  }
  const ends = lastUses(graph, estimates);
  const nodes: NodePlan[] = [];
  const problems: Diagnostic[] = [];
  const choices: MemoryPlan['choices'][number][] = [];
  graph.order.forEach((id, i) => {
    const resident = graph.order.slice(0, i).flatMap((from) => {
      const out = estimates.get(from)!.output;
      return out && ends.get(from)! >= i ? [weights(out, `${from}.model, resident`)] : [];
    });
    const plugin = graph.spec.nodes[id].plugin;
    let params = (graph.spec.nodes[id].params ?? {}) as NodeParams;
    let e = estimates.get(id)!;
    const at: NodeAt = { id, plugin, resident, shapes, l: limits };
    const step = e.items.length ? chooseStep(at, params) : undefined;
    if (step) {
      const chosen = { microBatch: step.microBatch, gradientCheckpointing: step.gradientCheckpointing };
      params = { ...params, ...chosen };
      e = estimate(id, plugin, params, shapes, limits);
      if (step.fits) choices.push({ node: id, params: chosen, ...(step.why ? { why: step.why } : {}) });
    }
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
      step,
    });
    if (!fits(tensorBytes, peakBytes, limits))
      problems.push(refusal(at, params, e, { peakBytes, tensorBytes, step }, loaded));
  });
  const top = nodes.reduce((a, b) => (b.peakBytes > a.peakBytes ? b : a), nodes[0]);
  return { limits, nodes, peak: { node: top?.id ?? '', bytes: top?.peakBytes ?? 0 }, problems, choices };
}

/** The largest n in [1, max] with fits(n) (fits is monotone below max), or undefined. */
function largestBelow(max: number, fitsAt: (n: number) => boolean): number | undefined {
  if (max < 1 || !fitsAt(1)) return undefined;
  let [lo, hi] = [1, max];
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fitsAt(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The step of a training node (its plugin declares `estimate.batch`) whose `microBatch` or `gradientCheckpointing` is
 * `auto`, with the models resident when it runs (see StepChoice); undefined for other nodes.
 * Micro-batching comes first: it costs only the gradient sum (and smaller matmuls), where
 * checkpointing runs every block's forward pass twice.
 */
function chooseStep(n: NodeAt, params: NodeParams): StepChoice | undefined {
  const { id, plugin, resident, shapes, l } = n;
  const batchOf = shapes.estimator<StepBatch>(plugin, 'batch');
  if (!batchOf || (params.microBatch !== 'auto' && params.gradientCheckpointing !== 'auto')) return undefined;
  const batch = batchOf(params);
  const pinned = params.microBatch === 'auto' ? undefined : Math.min(Number(params.microBatch), batch);
  // Only fused blocks checkpoint (the op-by-op path ignores the flag).
  const checkpointing: boolean[] =
    params.gradientCheckpointing === 'auto' ? (l.fused ? [false, true] : [false]) : [params.gradientCheckpointing];
  const fitsAt = (microBatch: number, gradientCheckpointing: boolean) =>
    fitsWith(n, { ...params, microBatch, gradientCheckpointing });
  const plain = { microBatch: pinned ?? batch, gradientCheckpointing: checkpointing[0] };
  const peakAt = (o: typeof plain) => {
    const p = { ...params, ...o };
    return total([...resident, ...estimate(id, plugin, p, shapes, l).items, ...reuseItems(l)]);
  };
  const wholeBytes = fitsAt(plain.microBatch, plain.gradientCheckpointing) ? undefined : peakAt(plain);
  for (const gradientCheckpointing of checkpointing) {
    const most =
      pinned !== undefined
        ? fitsAt(pinned, gradientCheckpointing)
          ? pinned
          : undefined
        : fitsAt(batch, gradientCheckpointing)
          ? batch
          : largestBelow(batch - 1, (m) => fitsAt(m, gradientCheckpointing));
    if (most === undefined) continue;
    const microBatch = pinned ?? Math.ceil(batch / Math.ceil(batch / most)); // even parts, no more of them
    const step = { microBatch, gradientCheckpointing, batch, wholeBytes, fits: true };
    return { ...step, why: wholeBytes === undefined ? undefined : describeChoice(step, wholeBytes, l) };
  }
  const tries = [
    pinned === undefined ? 'no micro-batch fits, not even 1 example' : `micro-batches of ${pinned} do not fit`,
    checkpointing.length > 1 ? 'with gradient checkpointing or without' : '',
  ];
  return { ...plain, batch, wholeBytes, fits: false, why: tries.filter(Boolean).join(' ') };
}

/** "batches of 64 run as 16 micro-batches of 4 with gradient checkpointing: the whole batch needs …". */
function describeChoice(s: Omit<StepChoice, 'why'>, wholeBytes: number, l: PlanLimits): string {
  const n = Math.ceil(s.batch / s.microBatch);
  const how = [
    n > 1 ? `${n} micro-batches of at most ${s.microBatch} (gradients summed, one update)` : 'one batch',
    s.gradientCheckpointing ? 'with gradient checkpointing' : '',
  ]
    .filter(Boolean)
    .join(' ');
  const limit =
    l.tensorBytes !== undefined ? `backend ${l.backend} holds ${gib(l.tensorBytes)}` : `${gib(l.hostBytes)} here`;
  const whole = `the whole batch needs about ${gib(wholeBytes)}, ${limit}`;
  return `the memory plan runs batches of ${s.batch} as ${how}: ${whole}`;
}

/** Whether node `id` fits with `params`, with the models resident when it runs. */
function fitsWith(n: NodeAt, params: NodeParams): boolean {
  const { l } = n;
  const items = [...n.resident, ...estimate(n.id, n.plugin, params, n.shapes, l).items, ...reuseItems(l)];
  return fits(
    total(items, (x) => !x.host),
    total(items),
    l,
  );
}

/** The memory options (trainer/memory-options.ts) of a training node, each alone, at which it would fit. */
function memoryOptionFixes(n: NodeAt, params: NodeParams): [string, unknown][] {
  const options: [string, unknown][] = [];
  if (params.gradientCheckpointing === false) options.push(['gradientCheckpointing', true]);
  if (Array.isArray(params.freeze) && !params.freeze.includes('embeddings')) options.push(['freeze', ['embeddings']]);
  return options.filter(([param, value]) => fitsWith(n, { ...params, [param]: value }));
}

/** The largest value of integer param `param` (below its current one) at which the node fits, if any. */
function largestFitting(n: NodeAt, params: NodeParams, param: string): number | undefined {
  const fitsAt = (v: number) => fitsWith(n, { ...params, [param]: v });
  if (param === 'headChunkTokens') return [256, 64, 16, 4, 1].find(fitsAt);
  return largestBelow(Number(params[param]) - 1, fitsAt);
}

/** Why node `n` does not fit at its `peak`, located in the graph, with the changes that would make it fit. */
function refusal(
  n: NodeAt,
  params: NodeParams,
  e: NodeMemory,
  peak: { peakBytes: number; tensorBytes: number; step: StepChoice | undefined },
  loaded: LoadedGraph,
): Diagnostic {
  const { id, resident, l } = n;
  const { peakBytes, tensorBytes, step } = peak;
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
  for (const [param, option] of memoryOptionFixes(n, params)) {
    fixes.push(`set ${param}: ${JSON.stringify(option)}`);
    field ??= `params.${param}`;
  }
  for (const param of knobs) {
    const v = largestFitting(n, params, param);
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
  // What the plan tried before refusing (params left auto), so the fixes are what is left.
  const tried = step && !step.fits && step.why ? `; ${step.why}` : '';
  return {
    ...loaded.sources.locate(path),
    node: id,
    field,
    message: `at its peak needs about ${limit} (largest: ${biggest.join('; ')})${tried}`,
    fix: fixes.join(', or '),
  };
}
