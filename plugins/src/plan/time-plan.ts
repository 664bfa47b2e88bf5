import type { NodeParams } from './node-params.js';
import Table from 'cli-table3';
import { instantiateComponents, type Preflight, type PreflightContext, type Registry } from '@e3/core';
import { GraphShapes } from './graph-shapes.js';
import { sampleTokenLengths } from './token-samples.js';
import { BUSY_LOAD, cachedRates, measureRates, ratesKey, type MachineRates } from './machine-rates.js';
import type { MemoryPlan } from './memory-plan.js';
import { planMemoryFor } from './plan-preflight.js';
import type { NodeWork, WorkEstimator, WorkPhase } from './work.js';

/** One node of the time plan. */
export interface NodeTimeEstimate {
  readonly id: string;
  readonly plugin: string;
  /** Estimated seconds; undefined when the plugin declares no estimator or its inputs are unknown. */
  readonly seconds?: number;
  readonly phases: readonly (WorkPhase & { seconds: number })[];
  readonly note?: string;
}

/** The time plan of a graph on one backend. */
export interface TimePlan {
  readonly backend: string;
  readonly rates?: MachineRates;
  readonly nodes: readonly NodeTimeEstimate[];
  readonly totalSeconds: number;
  readonly note?: string;
}

/** The matmul rate at hidden size h: measured at that size (the plan measures every size it needs). */
function rateAt(r: MachineRates, h: number): number {
  return r.matmul[h] ?? Math.max(...Object.values(r.matmul));
}

/**
 * Seconds of one phase: FLOPs at the matmul rate, calls at the call overhead, bytes at the copy rate,
 * optimiser updates at the update rate.
 */
export function phaseSeconds(p: WorkPhase, r: MachineRates): number {
  const io =
    (p.bytes ?? 0) / r.copyBytesPerSecond +
    (p.convertBytes ?? 0) / r.convertBytesPerSecond +
    (p.updates ?? 0) / r.updateValuesPerSecond;
  const compute = p.flops / rateAt(r, p.hidden) + p.calls * r.callSeconds + io;
  return Math.max(compute, p.minSeconds ?? 0);
}

/** Node `id`'s params with its components built (their own estimates, e.g. masks an importance score evaluates). */
function builtParams(registry: Registry, plugin: string, params: Record<string, unknown>): NodeParams {
  try {
    return instantiateComponents(registry.plugin(plugin).params, params, registry, registry.container) as NodeParams;
  } catch {
    return params; // a component that needs the run's services: its own estimate is not counted
  }
}

/** The work of every node, from the estimators the plugins declare (manifest `estimate.time`). */
export function graphWork(
  ctx: PreflightContext,
  registry: Registry,
  fused: boolean,
  choices: MemoryPlan['choices'] = [],
  shapes = new GraphShapes(ctx.graph, registry),
): Map<string, NodeWork> {
  const out = new Map<string, NodeWork>();
  for (const id of ctx.graph.order) {
    const spec = ctx.graph.spec.nodes[id];
    const estimate = shapes.estimator<WorkEstimator>(spec.plugin, 'time');
    if (!estimate) {
      out.set(id, { phases: [], note: 'unknown: the plugin declares no time estimator' });
      continue;
    }
    // With the memory plan's choices for params left `auto` (micro-batches, checkpointing), as a run applies them.
    const chosen = Object.assign({}, ...choices.filter((c) => c.node === id).map((c) => c.params));
    const params = builtParams(registry, spec.plugin, { ...(spec.params ?? {}), ...chosen });
    out.set(id, estimate({ id, params, shapes, fused }));
  }
  return out;
}

/** Hidden sizes of the matmuls a graph's work runs at. */
const hiddenSizes = (work: Map<string, NodeWork>) => [
  ...new Set([...work.values()].flatMap((w) => w.phases.filter((p) => p.flops > 0).map((p) => p.hidden))),
];

/**
 * The time plan: each node's work (its plugin's estimator) at this machine's rates on the backend,
 * measured once (a few seconds) and kept per machine and backend. `measure: false` uses kept rates
 * only (no tensors made), and says so when there are none.
 */
export async function planTime(ctx: PreflightContext, measure: boolean): Promise<TimePlan> {
  const memory = planMemoryFor(ctx);
  const { backend, fused } = memory.limits;
  const registry = ctx.registry;
  const shapes = new GraphShapes(ctx.graph, registry);
  const dirs = new Set(ctx.graph.order.flatMap((id) => shapes.modelOf(id)?.tokenizerDir ?? []));
  shapes.tokenSamples = await sampleTokenLengths(ctx.graph, [...dirs]);
  const work = graphWork(ctx, registry, fused, memory.choices, shapes);
  const key = ratesKey(backend, ctx.graph.spec.backend);
  const hidden = hiddenSizes(work);
  let rates = cachedRates(key, hidden);
  if (!rates && measure && (backend === 'wasm' || backend === 'cpu'))
    rates = await measureRates(key, backend, ctx.graph.spec.backend, hidden);
  const nodes: NodeTimeEstimate[] = ctx.graph.order.map((id) => {
    const w = work.get(id)!;
    const plugin = ctx.graph.spec.nodes[id].plugin;
    if (w.note || !rates) return { id, plugin, phases: [], note: w.note ?? 'no rates measured' };
    const phases = w.phases.map((p) => ({ ...p, seconds: phaseSeconds(p, rates!) }));
    return { id, plugin, phases, seconds: phases.reduce((a, p) => a + p.seconds, 0) };
  });
  const note = rates
    ? undefined
    : backend === 'wasm' || backend === 'cpu'
      ? `no rates measured yet for backend ${backend} on this machine: e3 plan measures them (a few seconds)`
      : `backend ${backend}: its rates are not measured (wasm and cpu only)`;
  return { backend, rates, nodes, totalSeconds: nodes.reduce((a, n) => a + (n.seconds ?? 0), 0), note };
}

/** Seconds as a person reads them: 4.2 s, 3 min 10 s, 2 h 5 min. */
export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${(s / 86400).toFixed(1)} days`;
}

/** The plan as a table: node, plugin, estimate, the phase that dominates; then the rates. */
export function formatTimePlan(plan: TimePlan): string {
  const table = new Table({
    head: ['node', 'plugin', 'time', 'dominated by'],
    style: { head: [], border: [], compact: true },
  });
  for (const n of plan.nodes) {
    const top = [...n.phases].sort((a, b) => b.seconds - a.seconds)[0];
    table.push([
      n.id,
      n.plugin,
      n.seconds === undefined ? 'unknown' : formatSeconds(n.seconds),
      n.note ?? top?.what ?? '',
    ]);
  }
  const lines = [table.toString(), `total: about ${formatSeconds(plan.totalSeconds)} on backend ${plan.backend}`];
  const r = plan.rates;
  if (r) {
    const mm = Object.entries(r.matmul)
      .map(([h, v]) => `${(v / 1e9).toFixed(1)} GFLOP/s at d=${h}`)
      .join(', ');
    lines.push(
      `rates (measured ${r.measuredAt}): matmul${r.precision ? ` (${r.precision})` : ''} ${mm}; ` +
        `${(r.callSeconds * 1e6).toFixed(0)} µs a kernel call; ` +
        `${(r.copyBytesPerSecond / 1e9).toFixed(1)} GB/s copies; ` +
        `${(r.convertBytesPerSecond / 1e9).toFixed(2)} GB/s bf16 → f32; ` +
        `${(r.updateValuesPerSecond / 1e6).toFixed(0)} M parameters/s through AdamW`,
    );
    if ((r.loadPerCore ?? 0) > BUSY_LOAD)
      lines.push(
        `the machine was busy when they were measured (load ${r.loadPerCore!.toFixed(1)} per core): ` +
          'times are overestimated, and the rates are measured again once it is quieter',
      );
  }
  if (plan.note) lines.push(plan.note);
  return lines.join('\n');
}

/** The time plan as `e3 plan --json`'s "time plan". */
function timePlanJson(plan: TimePlan) {
  return {
    backend: plan.backend,
    rates: plan.rates,
    totalSeconds: plan.totalSeconds,
    note: plan.note,
    nodes: plan.nodes.map((n) => ({
      id: n.id,
      plugin: n.plugin,
      seconds: n.seconds ?? null,
      note: n.note,
      phases: n.phases.map((p) => ({
        what: p.what,
        seconds: p.seconds,
        flops: p.flops,
        calls: p.calls,
        bytes: p.bytes,
        updates: p.updates,
      })),
    })),
  };
}

/** The time plan as a pre-flight check: `e3 plan` and `e3 run` measure the rates when needed; it never refuses. */
export const timePlanPreflight: Preflight = {
  name: 'time plan',
  async check(ctx: PreflightContext) {
    const plan = await planTime(ctx, ctx.started || ctx.purpose === 'plan');
    const seconds = Object.fromEntries(plan.nodes.flatMap((n) => (n.seconds === undefined ? [] : [[n.id, n.seconds]])));
    return { title: 'time plan', text: formatTimePlan(plan), json: timePlanJson(plan), problems: [], seconds };
  },
};
