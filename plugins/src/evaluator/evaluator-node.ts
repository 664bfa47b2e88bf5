import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject, injectable } from 'inversify';
import {
  ARTIFACTS,
  CLOCK,
  LOGGER,
  once,
  PROGRESS,
  RUN_INFO,
  trackProgress,
  type ArtifactStore,
  type Clock,
  type GraphNode,
  type Logger,
  type NodeContext,
  type PluginManifest,
  type Progress,
  type ReportQuality,
  type ReportTraining,
  type RunInfo,
  type RunReport,
} from '@e3/core';
import { merge } from 'rxjs';
import { heldoutCheck, type Example } from '../data/dataset.js';
import { requireTokenizer, type ModelHandle } from '../model/handle.js';
import { exactMatch, heldoutLikelihood, speedPrompts } from './quality.js';
import type { Report } from '../report/report.js';
import { buildReport, writeReport } from '../report/write-report.js';
import { measureSpeed } from './speed.js';
import { answerTaskSetup } from './answer-task.js';
import { evaluatorMetrics } from '../report/declared-metrics.js';
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
  extra: {
    type: 'Metrics',
    optional: true,
    doc: "metrics another node declares (a plugin's own): added to report.json's metrics, shown by e3 compare",
  },
} as const satisfies Ports;

/** One model's quality as the log line says it. */
function qualityLine(r: ReportQuality): string {
  const em =
    r.accuracy === undefined ? 'no prompts to answer' : `${(Number(r.accuracy) * 100).toFixed(1)}% exact match`;
  const kl = r.klToTeacher !== undefined ? `, KL ${Number(r.klToTeacher).toFixed(4)}` : '';
  return `${em}, perplexity ${Number(r.perplexity).toFixed(3)}${kl}`;
}

/** The evaluator's log line: both models' quality and the speed-up. */
function summaryLine(j: RunReport, model: ModelHandle, teacher: ModelHandle | undefined): string {
  const t = teacher && j.teacher ? `; teacher (${teacher.model.numLayers} layers): ${qualityLine(j.teacher)}` : '';
  const s = j.speedup;
  const speed = s
    ? `; speed-up prefill ${Number(s.prefill).toFixed(2)}×, decode ${Number(s.decode).toFixed(2)}× (ideal ${s.ideal.toFixed(2)}×)`
    : '';
  return `model (${model.model.numLayers} layers): ${qualityLine(j.model!)}${t}${speed}`;
}

/** `evaluator.suite`: exact match, perplexity, KL to the teacher and speed, teacher vs model, as a report. */
@injectable()
export class EvaluatorNode implements GraphNode<Params> {
  constructor(
    @inject(LOGGER) private readonly log: Logger,
    @inject(ARTIFACTS) private readonly store: ArtifactStore,
    @inject(CLOCK) private readonly clock: Clock,
    @inject(PROGRESS) private readonly progress: Progress,
    @inject(RUN_INFO) private readonly run: RunInfo,
  ) {}

  connect(ports: PortInputs<typeof inputs>, p: Params, ctx: NodeContext) {
    const t0 = this.clock.now();
    return {
      report: merge(
        heldoutCheck(ports.data, p.examples, 'evaluator.suite'),
        once(ports, ['model', 'teacher', 'data', 'mask', 'metrics', 'search', 'extra'], async (v): Promise<Report> => {
          const { model, teacher, data, mask, metrics, search, extra } = v;
          const held = await data.heldout(p.examples);
          const one = async (h: ModelHandle): Promise<ReportQuality> => {
            const who = h === teacher ? 'teacher' : `model (${h.model.numLayers} layers)`;
            const track = (what: string) =>
              trackProgress(this.progress, ctx.id, { unit: 'examples', what: `${who}: ${what}` });
            const em = await exactMatch(h, held, {
              maxNewTokens: p.maxNewTokens,
              progress: track('greedy answers'),
              signal: ctx.signal,
            });
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
              answered: em.answered,
              samples: held
                .filter((e) => e.prompt)
                .slice(0, 5)
                .map((e, i) => ({ prompt: e.prompt, answer: e.answer, output: em.completions[i] })),
            };
          };
          const body: Omit<RunReport, 'metrics'> = { model: await one(model) };
          if (teacher) body.teacher = await one(teacher);
          if (p.speed.enabled && teacher) await this.speed(body, { model, teacher, held, p, signal: ctx.signal });
          // The generated-answer task's setup (issue 25), beside the figures it produced.
          body.answerTask = answerTaskSetup(held, {
            maxNewTokens: p.maxNewTokens,
            stopTokenId: model.eosId,
            data: data.fingerprint,
            seed: this.run.seed,
          });
          if (mask) body.mask = mask;
          if (metrics) body.training = metrics as ReportTraining;
          if (search) body.search = search;
          const resolved = this.store.path('resolved.yaml');
          if (existsSync(resolved)) body.resolvedGraph = readFileSync(resolved, 'utf8');
          body.wallSeconds = (this.clock.now() - t0) / 1000;
          if (ctx.reportDir) body.name = p.name ?? ctx.id; // one of several reports: say whose
          const json: RunReport = { metrics: [...evaluatorMetrics(body, ctx.id), ...(extra ?? [])], ...body };
          this.log.info(summaryLine(json, model, teacher));
          const report = await buildReport(json);
          const dir = ctx.reportDir ?? '';
          writeReport(report, (name, text) => this.store.writeText(join(dir, name), text));
          if (dir) this.log.info(`report written to ${join(dir, 'report.html')} (beside the graph's other reports)`);
          return report;
        }),
      ),
    };
  }

  /** Decoding speed of the model beside the teacher's, measured in one process, into `body`. */
  private async speed(
    body: Omit<RunReport, 'metrics'>,
    o: { model: ModelHandle; teacher: ModelHandle; held: readonly Example[]; p: Params; signal: AbortSignal },
  ): Promise<void> {
    const { model, teacher, p } = o;
    const tok = requireTokenizer(model, 'evaluator.suite');
    const prompts = speedPrompts(o.held.slice(0, p.speed.prompts), (text) => tok.encode(text));
    const [s, t] = await measureSpeed([model, teacher], prompts, p.speed.newTokens, p.speed.repeats, o.signal);
    body.model!.speed = s;
    body.teacher!.speed = t;
    body.speedup = {
      prefill: s.prefillTokensPerSecond / t.prefillTokensPerSecond,
      decode: s.decodeTokensPerSecond / t.decodeTokensPerSecond,
      ideal: teacher.model.numLayers / model.model.numLayers,
      repeats: p.speed.repeats,
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
