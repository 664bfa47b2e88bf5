import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject, injectable } from 'inversify';
import {
  ARTIFACTS,
  CLOCK,
  LOGGER,
  once,
  PROGRESS,
  trackProgress,
  type ArtifactStore,
  type Clock,
  type GraphNode,
  type Logger,
  type NodeContext,
  type PluginManifest,
  type Progress,
} from '@e3/core';
import { merge } from 'rxjs';
import { heldoutCheck } from '../data/dataset.js';
import { requireTokenizer, type ModelHandle } from '../model/handle.js';
import { exactMatch, heldoutLikelihood, speedPrompts } from './quality.js';
import type { Report } from '../report/report.js';
import { buildReport, writeReport } from '../report/write-report.js';
import { measureSpeed } from './speed.js';
import type { PortInputs, Ports } from '../ports.js';

interface Params {
  examples: number;
  maxNewTokens: number;
  speed: { enabled: boolean; prompts: number; newTokens: number; repeats: number };
  promptLoss: boolean;
  name?: string;
}

const inputs = {
  model: { type: 'Model' },
  teacher: { type: 'Model', optional: true },
  data: { type: 'Dataset' },
  mask: { type: 'Mask', optional: true },
  metrics: { type: 'any', optional: true, doc: 'training metrics for the report' },
  search: {
    type: 'SearchMetrics',
    optional: true,
    doc: "the search's α and keep probabilities per step, for the report's plots",
  },
} as const satisfies Ports;

/** `evaluator.suite`: exact match, perplexity, KL to the teacher and speed, teacher vs model, as a report. */
@injectable()
export class EvaluatorNode implements GraphNode<Params> {
  constructor(
    @inject(LOGGER) private readonly log: Logger,
    @inject(ARTIFACTS) private readonly store: ArtifactStore,
    @inject(CLOCK) private readonly clock: Clock,
    @inject(PROGRESS) private readonly progress: Progress,
  ) {}

  connect(ports: PortInputs<typeof inputs>, p: Params, ctx: NodeContext) {
    const t0 = this.clock.now();
    return {
      report: merge(
        heldoutCheck(ports.data, p.examples, 'evaluator.suite'),
        once(ports, ['model', 'teacher', 'data', 'mask', 'metrics', 'search'], async (v): Promise<Report> => {
          const { model, teacher, data, mask, metrics, search } = v;
          const held = await data.heldout(p.examples);
          const one = async (h: ModelHandle) => {
            const who = h === teacher ? 'teacher' : `model (${h.model.numLayers} layers)`;
            const track = (what: string) =>
              trackProgress(this.progress, ctx.id, { unit: 'examples', what: `${who}: ${what}` });
            const em = await exactMatch(h, held, p.maxNewTokens, undefined, track('greedy answers'), ctx.signal);
            const lik = await heldoutLikelihood(h, held, teacher && h !== teacher ? teacher : undefined, {
              promptLoss: p.promptLoss,
              progress: track('perplexity and KL'),
              signal: ctx.signal,
            });
            const { keptLayers, originalLayers, prunedBy } = h.model.source;
            return {
              layers: h.model.numLayers,
              ...(h === teacher ? {} : { keptLayers, originalLayers, ...(prunedBy ? { prunedBy } : {}) }),
              parameters: h.model.parameterCount(),
              accuracy: em.accuracy,
              perplexity: lik.perplexity,
              klToTeacher: lik.kl,
              examples: held.length,
              samples: held
                .filter((e) => e.prompt)
                .slice(0, 5)
                .map((e, i) => ({ prompt: e.prompt, answer: e.answer, output: em.completions[i] })),
            };
          };
          const json: Record<string, any> = { model: await one(model) };
          if (teacher) json.teacher = await one(teacher);
          if (p.speed.enabled && teacher) {
            const tok = requireTokenizer(model, 'evaluator.suite');
            const prompts = speedPrompts(held.slice(0, p.speed.prompts), (text) => tok.encode(text));
            const [s, t] = await measureSpeed(
              [model, teacher],
              prompts,
              p.speed.newTokens,
              p.speed.repeats,
              ctx.signal,
            );
            json.model.speed = s;
            json.teacher.speed = t;
            json.speedup = {
              prefill: s.prefillTokensPerSecond / t.prefillTokensPerSecond,
              decode: s.decodeTokensPerSecond / t.decodeTokensPerSecond,
              ideal: teacher.model.numLayers / model.model.numLayers,
              repeats: p.speed.repeats,
            };
          }
          if (mask) json.mask = mask;
          if (metrics) json.training = metrics;
          if (search) json.search = search;
          const resolved = this.store.path('resolved.yaml');
          if (existsSync(resolved)) json.resolvedGraph = readFileSync(resolved, 'utf8');
          json.wallSeconds = (this.clock.now() - t0) / 1000;
          const fmt = (r: any) =>
            `${r.accuracy === undefined ? 'no prompts to answer' : `${(r.accuracy * 100).toFixed(1)}% exact match`}, perplexity ${r.perplexity.toFixed(3)}${r.klToTeacher !== undefined ? `, KL ${r.klToTeacher.toFixed(4)}` : ''}`;
          this.log.info(
            `model (${model.model.numLayers} layers): ${fmt(json.model)}${teacher ? `; teacher (${teacher.model.numLayers} layers): ${fmt(json.teacher)}` : ''}${json.speedup ? `; speed-up prefill ${json.speedup.prefill.toFixed(2)}×, decode ${json.speedup.decode.toFixed(2)}× (ideal ${json.speedup.ideal.toFixed(2)}×)` : ''}`,
          );
          if (ctx.reportDir) json.name = p.name ?? ctx.id; // one of several reports: say whose
          const report = await buildReport(json);
          const dir = ctx.reportDir ?? '';
          writeReport(report, (name, text) => this.store.writeText(join(dir, name), text));
          if (dir) this.log.info(`report written to ${join(dir, 'report.html')} (beside the graph's other reports)`);
          return report;
        }),
      ),
    };
  }
}

export const evaluatorManifest: PluginManifest = {
  key: 'evaluator.suite',
  doc:
    'Held-out exact match (greedy), perplexity, KL to the teacher, and prefill/decode speed vs the teacher; ' +
    'writes report.json, report.md and report.html (plots as SVG in figures/); with several in a graph, ' +
    'each into reports/<name>/.',
  inputs,
  writesReport: true,
  outputs: { report: { type: 'Report' } },
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      examples: { type: 'integer', minimum: 1, default: 500, description: 'held-out examples' },
      maxNewTokens: { type: 'integer', minimum: 1, default: 8, description: 'generation budget per answer' },
      name: {
        type: 'string',
        pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$',
        description:
          "the report's name when the graph has several: its files go to reports/<name>/ (default: the node id)",
      },
      promptLoss: { type: 'boolean', default: false, description: 'perplexity/KL over all tokens, not only answers' },
      speed: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          enabled: { type: 'boolean', default: true },
          prompts: { type: 'integer', minimum: 1, default: 32 },
          newTokens: { type: 'integer', minimum: 1, default: 16 },
          repeats: { type: 'integer', minimum: 1, default: 5 },
        },
      },
    },
  },
  node: EvaluatorNode,
};
