import { resolve } from 'node:path';
import {
  parseWire,
  Rng,
  UserError,
  type Diagnostic,
  type Preflight,
  type PreflightContext,
  type ValidatedGraph,
} from '@e3/core';
import { openJsonl } from '../data/jsonl-open.js';
import type { JsonlParams } from '../data/jsonl.js';
import { inspectCheckpoint } from '../model/checkpoint.js';

/** One input checked: what the report says of it, or the problem that stops the graph. */
type Verdict = { ok: string } | { problem: Diagnostic };

/**
 * The checkpoint directory of the model node feeding node `id`'s `model` input (through prune,
 * train and distill nodes, which keep its tokenizer), when it is a model.hfCheckpoint.
 */
function checkpointFeeding(graph: ValidatedGraph, id: string, port = 'model'): string | undefined {
  const wire = graph.spec.nodes[id].in?.[port];
  const from = typeof wire === 'string' ? parseWire(wire)?.node : undefined;
  if (from === undefined) return undefined;
  const node = graph.spec.nodes[from];
  if (node.plugin === 'model.hfCheckpoint') return resolve(String((node.params as { path: string }).path));
  return node.in?.model === undefined ? undefined : checkpointFeeding(graph, from);
}

/** The checkpoint of the first model that node `data` feeds: its tokenizer is the one that encodes the records. */
function modelOfData(graph: ValidatedGraph, data: string): string | undefined {
  for (const id of graph.order) {
    const fed = Object.values(graph.spec.nodes[id].in ?? {}).some((w) => parseWire(String(w))?.node === data);
    const dir = fed ? checkpointFeeding(graph, id) : undefined;
    if (dir !== undefined) return dir;
  }
  return undefined;
}

/** Runs `check`; a UserError becomes the node's located problem at `field`. */
async function verdict(ctx: PreflightContext, id: string, check: Check): Promise<Verdict> {
  try {
    return { ok: await check.run() };
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    const { fix } = check;
    // An error that names a field of the node's params (`field "params.maxTokens"`) is located there.
    const field = /field "(params\.[\w.]+)"/.exec(e.message)?.[1] ?? check.field;
    const location = ctx.loaded.sources.locate(['nodes', id, ...field.split('.')]);
    return { problem: { ...location, node: id, field, message: e.message, ...(fix ? { fix } : {}) } };
  }
}

/** How to read one node's files: the field that names them, the reading, a fix when its errors carry none. */
interface Check {
  readonly field: string;
  readonly run: () => Promise<string> | string;
  readonly fix?: string;
}

/** The check of node `id`'s inputs on disk, for the plugins that read files; undefined for the rest. */
function checkOf(ctx: PreflightContext, id: string): Check | undefined {
  const node = ctx.graph.spec.nodes[id];
  const p = (node.params ?? {}) as Record<string, unknown>;
  if (node.plugin === 'model.hfCheckpoint') {
    return {
      field: 'params.path',
      run: () => {
        const info = inspectCheckpoint(resolve(String(p.path)));
        return `checkpoint ${p.path}: ${info.config.numLayers} layers, ${info.parameters} parameters, ${info.dtype}`;
      },
      fix: 'restore the checkpoint (re-export or re-download it), or point params.path at a complete one',
    };
  }
  if (node.plugin === 'data.jsonl') {
    const params = p as unknown as JsonlParams;
    const paths = { path: resolve(params.path), tokenizer: params.tokenizer && resolve(params.tokenizer) };
    return {
      field: 'params.path',
      run: async () => {
        const rng = new Rng(ctx.graph.spec.seed ?? 0);
        const d = await openJsonl({ ...params, ...paths }, rng, { node: id }, modelOfData(ctx.graph, id));
        return `data ${params.path}: ${d.trainSize} training and ${d.heldoutSize} held-out examples, every record read`;
      },
    };
  }
  return undefined;
}

/**
 * `e3 validate` and `e3 plan` read every file the graph's nodes will read, as the nodes do: each
 * checkpoint's config.json, safetensors headers (against the config and the file sizes) and
 * tokenizer files; each JSONL file's every record, chat templates rendered and maxTokens
 * checked. A file that would fail a run fails here, located at the node's field. `e3 run` skips
 * it: its nodes read the same files first thing, with the same errors.
 */
export const inputsPreflight: Preflight = {
  name: 'inputs',
  async check(ctx: PreflightContext) {
    const verdicts: { node: string; v: Verdict }[] = [];
    if (ctx.purpose === 'validate' || ctx.purpose === 'plan') {
      for (const id of ctx.graph.order) {
        const c = checkOf(ctx, id);
        if (c) verdicts.push({ node: id, v: await verdict(ctx, id, c) });
      }
    }
    const problems = verdicts.flatMap(({ v }) => ('problem' in v ? [v.problem] : []));
    const text = verdicts
      .map(({ node, v }) => `node "${node}": ${'ok' in v ? v.ok : `cannot be read: ${v.problem.message}`}`)
      .join('\n');
    return { title: 'inputs', text: text || 'no files to read', json: { verdicts }, problems };
  },
};
