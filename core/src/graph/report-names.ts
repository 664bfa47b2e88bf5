import type { PluginManifest } from '../registry/manifest.js';
import { isPlainObject, type Path } from './paths.js';
import type { GraphSpec } from './spec.js';

/** A problem with the names of report-writing nodes, at a path of the merged graph. */
export interface NameProblem {
  readonly path: Path;
  readonly node: string;
  readonly message: string;
  readonly fix: string;
}

/**
 * Where each report-writing node (PluginManifest.writesReport) writes, relative to the run directory:
 * the graph's only one outside repeat rounds into the run directory itself (''), the others into
 * reports/<name>/, where a name is the node's `name` param or else its node id (a round's node
 * round1.eval: reports/round1/eval).
 * Two nodes with one name would overwrite each other's files: a problem at the second one's name.
 */
export function reportDirs(
  spec: GraphSpec,
  manifests: ReadonlyMap<string, PluginManifest>,
): { dirs: Map<string, string>; problems: NameProblem[] } {
  const writers = [...manifests].filter(([, m]) => m.writesReport).map(([id]) => id);
  const outer = writers.filter((id) => !id.includes('.')); // a repeat round's nodes have dotted ids
  const dirs = new Map<string, string>();
  const problems: NameProblem[] = [];
  const owner = new Map<string, string>();
  for (const id of writers) {
    const params = spec.nodes[id]?.params;
    const given = isPlainObject(params) && typeof params.name === 'string' ? params.name : undefined;
    const name = given ?? id;
    const first = owner.get(name);
    if (first !== undefined) {
      problems.push({
        path: given !== undefined ? ['nodes', id, 'params', 'name'] : ['nodes', id],
        node: id,
        message:
          `report name "${name}" is also the name of node "${first}"'s report; ` +
          "one would overwrite the other's report files",
        fix: `give node "${id}" another name: params: { name: ${id.replace(/\./g, '-')}-2 }`,
      });
      continue;
    }
    owner.set(name, id);
    dirs.set(id, outer.length === 1 && outer[0] === id ? '' : ['reports', ...name.split('.')].join('/'));
  }
  return { dirs, problems };
}
