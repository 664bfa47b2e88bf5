import type { ContainerModule } from 'inversify';
import { GraphError, type Diagnostic } from '../errors.js';
import { prepareGraph } from '../runtime/prepare.js';
import { SweepError, type SweepPlan } from './sweep-file.js';

/**
 * Validates every point's graph before anything runs (no tensors: plugins, params, wires). A
 * problem caused by one of the sweep's values is reported where the sweep file wrote it; each
 * distinct problem once, whatever the number of points it breaks.
 */
export async function checkPoints(plan: SweepPlan, modules: readonly ContainerModule[]): Promise<void> {
  const found = new Map<string, Diagnostic>();
  for (const point of plan.points) {
    try {
      await prepareGraph(point.graph, { modules, sets: point.sets });
    } catch (e) {
      if (!(e instanceof GraphError)) throw e;
      for (const d of e.diagnostics) {
        const i = d.file?.startsWith('--set ') ? point.sets.indexOf(d.file.slice('--set '.length)) : -1;
        const located = i >= 0 ? { ...d, ...point.origins[i] } : d;
        const text = JSON.stringify(located);
        if (!found.has(text)) found.set(text, located);
      }
    }
  }
  if (found.size) throw new SweepError([...found.values()]);
}
