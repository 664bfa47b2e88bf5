import { resolvedYaml } from './resolved-yaml.js';
import type { GraphSpec } from '../graph/spec.js';
import type { ArtifactStore } from '../services/artifact-store.js';
import type { Logger } from '../services/logger.js';
import type { ParamChoice, PreflightReport } from './preflight.js';

/**
 * Applies the params that pre-flight checks chose for the run (a check's `params`, e.g. the memory
 * plan's micro-batches for a param left `auto`) to the graph's nodes, before any node starts: each
 * node is built from `spec.nodes[id].params`, so it runs with them. Each choice with a reason is
 * logged at info (the others at debug), and resolved.yaml is written again to record them. Node keys
 * were computed before, from the params as the user gave them, so a choice never invalidates saved
 * state (a choice changes how a node computes, not what).
 */
export function applyParamChoices(
  reports: readonly PreflightReport[],
  spec: GraphSpec,
  store: ArtifactStore,
  logger: Logger,
): ParamChoice[] {
  const choices = reports.flatMap((r) => r.params ?? []);
  for (const c of choices) {
    const node = spec.nodes[c.node];
    if (!node) throw new Error(`a pre-flight check chose params for node "${c.node}", which the graph lacks`);
    node.params = { ...(node.params ?? {}), ...c.params };
    const set = Object.entries(c.params)
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join(', ');
    if (c.why) logger.info(`node "${c.node}": ${set} (${c.why})`);
    else logger.debug(`node "${c.node}": ${set}`);
  }
  if (choices.length) store.writeText('resolved.yaml', resolvedYaml(spec));
  return choices;
}
