import type { Diagnostic, Preflight, PreflightContext } from '@e3/core';

/** One node's params as the run will see them (defaults applied by validation). */
type Params = Readonly<Record<string, unknown>>;

/** A rule: the warning for a node's params, or undefined when the recipe does what it says. */
type Rule = (p: Params) => { field: string; message: string; fix: string } | undefined;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * Recipes that run but do not do what they say. Rules go by param names, not plugins, so a
 * plugin from outside with the same params (steps and warmupSteps, say) gets the same checks.
 */
const RULES: readonly Rule[] = [
  (p) => {
    const [steps, warmup] = [num(p.steps), num(p.warmupSteps)];
    if (steps === undefined || warmup === undefined || steps <= 0 || warmup < steps) return undefined;
    return {
      field: 'params.warmupSteps',
      message: `a warm-up of ${warmup} steps in a run of ${steps}: the learning rate never reaches its peak (lr)`,
      fix: `warmupSteps below steps, e.g. warmupSteps: ${Math.max(0, Math.floor(steps / 10))}`,
    };
  },
  (p) => {
    const [steps, every] = [num(p.steps), num(p.evalEvery)];
    if (steps === undefined || every === undefined || every <= 0 || every < steps) return undefined;
    return {
      field: 'params.evalEvery',
      message: `evalEvery ${every} with ${steps} steps: held-out checks run only before the first step and after the last`,
      fix: `evalEvery below steps (e.g. ${Math.max(1, Math.floor(steps / 4))}), or 0 for none`,
    };
  },
  // The search's gradient batch: cut to the calibration set, it is not the batch the recipe names. (A
  // scoring or caching batchSize larger than its set only changes how the work is split: no warning.)
  (p) => {
    const [calibration, batch] = [num(p.calibration), num(p.searchBatchSize)];
    if (calibration === undefined || batch === undefined || calibration >= batch) return undefined;
    return {
      field: 'params.searchBatchSize',
      message: `searchBatchSize ${batch} with a calibration set of ${calibration}: each step's batch is cut to ${calibration}`,
      fix: `calibration at least ${batch}, or searchBatchSize: ${calibration}`,
    };
  },
];

/** The warnings of every rule on every node of the graph, located at the param (or the node). */
export function recipeWarnings(ctx: Pick<PreflightContext, 'graph' | 'loaded'>): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const id of ctx.graph.order) {
    const params = (ctx.graph.spec.nodes[id].params ?? {}) as Params;
    for (const rule of RULES) {
      const w = rule(params);
      if (w) out.push({ ...ctx.loaded.sources.locate(['nodes', id, ...w.field.split('.')]), node: id, ...w });
    }
  }
  return out;
}

/** Recipe warnings as a pre-flight check: reported by validate, plan and run; never a refusal. */
export const recipePreflight: Preflight = {
  name: 'recipe',
  check(ctx) {
    const warnings = recipeWarnings(ctx);
    return { title: 'recipe', text: warnings.length ? '' : 'no warnings', json: { warnings }, problems: [], warnings };
  },
};
