import Table from 'cli-table3';
import { resolveBackendOptions, type Preflight, type PreflightContext } from '@e3/core';
import { limitsOf, planMemory, type MemoryPlan } from './memory-plan.js';
import { gib } from './stage-memory.js';

/** The plan as a table: node, plugin, what dominates, estimate; then the limit and the run's peak. */
export function formatPlan(plan: MemoryPlan): string {
  const table = new Table({
    head: ['node', 'plugin', 'peak', 'of which resident', 'dominated by'],
    style: { head: [], border: [], compact: true },
  });
  for (const n of plan.nodes) {
    const resident = n.resident.reduce((a, r) => a + r.bytes, 0);
    table.push([
      n.id,
      n.plugin,
      n.note ? '—' : gib(n.peakBytes),
      n.note ? '' : gib(resident),
      n.note ?? n.dominant ?? '',
    ]);
  }
  const l = plan.limits;
  const limit =
    l.tensorBytes !== undefined
      ? `${gib(l.tensorBytes)} of tensors (wasm32 heap) and ${gib(l.hostBytes)} of host memory`
      : `${gib(l.hostBytes)} of host memory (os.totalmem)`;
  const lines = [
    table.toString(),
    `backend ${l.backend} (${l.how}; blocks ${l.fused ? 'fused native kernels' : 'op by op'}): limit ${limit}`,
    `run peak: ${gib(plan.peak.bytes)} at node "${plan.peak.node}"`,
    // The steps the plan chose (microBatch, gradientCheckpointing: auto), as a run applies them.
    ...plan.nodes.filter((n) => n.step?.fits && n.step.why).map((n) => `node "${n.id}": ${n.step!.why}`),
  ];
  if (plan.problems.length)
    lines.push(`does not fit: ${plan.problems.map((p) => `node "${p.node}"`).join(', ')} (see the errors)`);
  return lines.join('\n');
}

/** The memory plan as the JSON of `e3 plan --json`. */
function planJson(plan: MemoryPlan) {
  return {
    limits: plan.limits,
    peak: plan.peak,
    nodes: plan.nodes.map((n) => ({
      id: n.id,
      plugin: n.plugin,
      peakBytes: n.peakBytes,
      tensorBytes: n.tensorBytes,
      dominant: n.dominant,
      note: n.note,
      resident: n.resident,
      items: n.items,
      step: n.step,
    })),
    choices: plan.choices,
    problems: plan.problems,
  };
}

/**
 * The memory plan on the backend of `ctx`; for `auto` before a run, on the backend a run would
 * take: wasm, or cpu when wasm cannot hold the graph and cpu can.
 */
export function planMemoryFor(ctx: PreflightContext): MemoryPlan {
  const options = resolveBackendOptions(ctx.graph.spec.backend);
  const planOn = (backend: string) =>
    planMemory(
      ctx.graph,
      ctx.loaded,
      limitsOf(backend, {
        started: ctx.started,
        fused: options.fused,
        bufferPool: options.bufferPool,
        precision: options.precision,
      }),
      ctx.registry,
    );
  let plan = planOn(ctx.backend);
  if (ctx.backend === 'auto' && plan.problems.length && plan.limits.backend === 'wasm') {
    // As a run does: auto skips a backend that cannot hold the graph.
    const onCpu = planOn('cpu');
    if (!onCpu.problems.length)
      plan = {
        ...onCpu,
        limits: {
          ...onCpu.limits,
          how: `predicted for auto (wasm cannot hold ${plan.problems.map((d) => `node "${d.node}"`).join(', ')})`,
        },
      };
  }
  return plan;
}

/** The memory plan as a pre-flight check: `e3 plan` prints it, `e3 validate` and `e3 run` refuse what cannot fit. */
export const memoryPlanPreflight: Preflight = {
  name: 'memory plan',
  check(ctx: PreflightContext) {
    const plan = planMemoryFor(ctx);
    return {
      title: 'memory plan',
      text: formatPlan(plan),
      json: planJson(plan),
      problems: plan.problems,
      params: plan.choices,
    };
  },
};
