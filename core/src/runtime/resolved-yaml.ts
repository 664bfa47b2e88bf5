import { Document, isScalar } from 'yaml';
import type { GraphSpec } from '../graph/spec.js';
import { precisionNote, resolveBackendOptions } from '../services/backend.js';

/**
 * resolved.yaml's text: the graph as run, its backend's `precision` annotated with what it comes to
 * on this machine and why (e.g. `precision: auto # on wasm and cpu: auto: bf16 products from 32Mi
 * multiply-adds…`, or why it is f32: no oneDNN, no bf16 in the CPU).
 */
export function resolvedYaml(spec: GraphSpec): string {
  const doc = new Document(spec);
  const node = doc.getIn(['backend', 'precision'], true);
  if (isScalar(node)) node.comment = ` on wasm and cpu: ${precisionNote(resolveBackendOptions(spec.backend))}`;
  return doc.toString();
}
