import type { JsonSchema } from '../registry/manifest.js';

/**
 * One number a run reports, declared with what it means, so that `e3 compare`, the report and
 * its figures read what is declared instead of knowing names: a plugin adds a metric by
 * declaring it (the evaluator's `extra` input takes a node's `Metrics`), with no change to core.
 */
export interface DeclaredMetric {
  /** Unique within a report; compare's column key (`exactMatch`, `final.loss`, `example.keptShare`). */
  readonly name: string;
  /** Column heading; the name when absent. */
  readonly heading?: string;
  /** What the value is in (`fraction`, `nats/token`, `tokens/s`, `×`, `s`; `''` for a pure number). */
  readonly unit: string;
  /** Which way is better. */
  readonly direction: 'higher' | 'lower';
  /** How many items it was computed on (see `of`); 0 when it was computed on none. */
  readonly n: number;
  /** What `n` counts: `examples` when absent (`tokens`, `repeats`, `layers`…). */
  readonly of?: string;
  /** The value; null when it could not be computed (NaN, nothing to score). */
  readonly value: number | null;
  /** Timing and speed: varies with the machine's load between runs of one setting (compare shows it apart). */
  readonly noisy?: boolean;
  /** Decimals to show (3 when absent). */
  readonly digits?: number;
  /** The node that declared it. */
  readonly source?: string;
}

/** A recorded row of a training or search history: one number (null for NaN) per quantity. */
export type HistoryRow = Readonly<Record<string, number | null>>;

/** Quality of one model on the held-out examples (teacher or pruned). */
export interface ReportQuality {
  readonly layers: number;
  readonly parameters?: number;
  readonly accuracy?: number | null;
  readonly perplexity?: number | null;
  readonly klToTeacher?: number | null;
  readonly examples?: number;
  /** Examples with a prompt: what exact match was computed on. */
  readonly answered?: number;
  readonly samples?: readonly { prompt: string; answer: string; output?: string }[];
  speed?: { readonly prefillTokensPerSecond: number | null; readonly decodeTokensPerSecond: number | null };
}

/** The chosen mask: 0/1 per layer of the model it was computed for. */
export interface ReportMask {
  readonly mask: number[];
  readonly method: string;
  readonly scores?: number[];
  readonly details?: Record<string, unknown>;
}

/** The parameters of warmupCosine (plugins/src/trainer/adamw.ts) for a run of `steps`. */
export interface ReportLrSchedule {
  /** Optimiser steps of the run. */
  steps: number;
  /** Steps of linear warm-up to the peak. */
  warmupSteps: number;
  /** The peak learning rate. */
  peak: number;
  /** The final learning rate as a fraction of the peak. */
  minLrRatio: number;
}

/** The recovery training: its size and the recorded history (the loss and each term per step). */
export interface ReportTraining {
  readonly node?: string;
  readonly steps: number;
  readonly tokens: number;
  readonly wallSeconds: number;
  readonly history: readonly HistoryRow[];
  readonly evalCurve?: readonly HistoryRow[];
  /** The learning-rate schedule as set: the report draws every step's rate from it. */
  readonly lrSchedule?: ReportLrSchedule;
}

/** The mask search's restarts and their per-step history. */
export interface ReportSearch {
  readonly node?: string;
  readonly restarts: readonly { readonly restart: number; readonly history?: readonly HistoryRow[] }[];
  readonly wallSeconds?: number;
}

/**
 * report.json: what the evaluator writes, the report writer renders, `e3 report` rebuilds from
 * and `e3 compare` reads (schemas/run-report.schema.json, {@link RUN_REPORT_SCHEMA}). Only
 * `metrics` is required; the sections are there when the graph produced them.
 */
/**
 * How the generated-answer task of a report was run (report.json `answerTask`), so that a figure of
 * exact match can be reproduced and compared: which prompts, which decoding, which budget, which data.
 */
export interface ReportAnswerTask {
  readonly task: 'exact match of greedy answers';
  /** How a prompt reaches the model. */
  readonly promptFormat: string;
  /** The first prompt asked, verbatim (absent when no example has a prompt). */
  readonly promptExample?: string;
  /** How the answer is read from the completion and compared (plugins/src/evaluator/quality.ts extractAnswer). */
  readonly answerExtraction: string;
  readonly decoding: 'greedy';
  readonly maxNewTokens: number;
  /** The token that ends an answer. */
  readonly stopTokenId: number;
  /** Held-out examples with a prompt, i.e. the ones answered and scored. */
  readonly examples: number;
  /** Held-out examples evaluated (perplexity and KL use all of them). */
  readonly heldoutExamples: number;
  /** The dataset's fingerprint (name, params and seed). */
  readonly data: string;
  /** The run's seed (the data and its held-out split are drawn from it). */
  readonly seed: number;
}

export interface RunReport {
  readonly metrics: readonly DeclaredMetric[];
  /** The report node's name when a graph writes several reports (reports/<name>/). */
  name?: string;
  teacher?: ReportQuality;
  model?: ReportQuality;
  speedup?: { readonly prefill: number | null; readonly decode: number | null; ideal: number; repeats: number };
  mask?: ReportMask;
  training?: ReportTraining;
  search?: ReportSearch;
  /** How exact match was computed: prompts, decoding, budget, data and seed. */
  answerTask?: ReportAnswerTask;
  resolvedGraph?: string;
  wallSeconds?: number;
}

/** A number, or null where it was NaN or not measured (JSON has no NaN). */
const NUM = { type: ['number', 'null'] };
const NUMS = { type: 'array', items: NUM };
const COUNT = { type: 'integer', minimum: 0 };
const MASK = { type: 'array', items: { enum: [0, 1] } };
const ROWS = { type: 'array', items: { type: 'object', additionalProperties: NUM } };

export const METRIC_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['name', 'unit', 'direction', 'n', 'value'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, description: 'unique within the report' },
    heading: { type: 'string' },
    unit: { type: 'string', description: "what the value is in; '' for a pure number" },
    direction: { enum: ['higher', 'lower'], description: 'which way is better' },
    n: { ...COUNT, description: 'how many items it was computed on (see of)' },
    of: { type: 'string', description: 'what n counts (examples when absent)' },
    value: NUM,
    noisy: { type: 'boolean', description: 'timing or speed: varies between runs of one setting' },
    digits: { type: 'integer', minimum: 0, maximum: 12 },
    source: { type: 'string', description: 'the node that declared it' },
  },
};

const QUALITY = {
  type: 'object',
  required: ['layers'],
  properties: {
    layers: COUNT,
    parameters: COUNT,
    accuracy: NUM,
    perplexity: NUM,
    klToTeacher: NUM,
    examples: COUNT,
    answered: COUNT,
    speed: { type: 'object', properties: { prefillTokensPerSecond: NUM, decodeTokensPerSecond: NUM } },
  },
};

const MASK_SECTION = {
  type: 'object',
  required: ['mask', 'method'],
  properties: {
    mask: MASK,
    method: { type: 'string' },
    scores: NUMS,
    details: {
      type: 'object',
      properties: {
        keepProbability: NUMS,
        alpha: NUMS,
        calibrationKl: NUM,
        forwardPasses: NUM,
        wallSeconds: NUM,
        chosenFrom: { type: 'string' },
        candidates: {
          type: 'array',
          items: {
            type: 'object',
            required: ['mask', 'source'],
            properties: { mask: MASK, kl: NUM, source: { type: 'string' }, restart: COUNT },
          },
        },
      },
    },
  },
};

/** The JSON Schema of report.json (`e3 schemas` writes it to schemas/run-report.schema.json). */
export const RUN_REPORT_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://e3-pruner/schemas/run-report.schema.json',
  title: 'e3-pruner run report (report.json)',
  description:
    'What the evaluator writes, e3 report renders and e3 compare reads: declared metrics, and the sections ' +
    'the graph produced. Fields not named here pass through.',
  type: 'object',
  required: ['metrics'],
  properties: {
    metrics: { type: 'array', items: METRIC_SCHEMA, description: 'every number compare shows, declared' },
    name: { type: 'string', description: "the report node's name when a graph writes several reports" },
    teacher: QUALITY,
    model: QUALITY,
    speedup: { type: 'object', properties: { prefill: NUM, decode: NUM, ideal: NUM, repeats: COUNT } },
    mask: MASK_SECTION,
    training: {
      type: 'object',
      required: ['history'],
      properties: { steps: NUM, tokens: NUM, wallSeconds: NUM, history: ROWS, evalCurve: ROWS },
    },
    search: {
      type: 'object',
      required: ['restarts'],
      properties: {
        restarts: {
          type: 'array',
          items: { type: 'object', required: ['restart'], properties: { restart: COUNT, history: ROWS } },
        },
      },
    },
    answerTask: {
      type: 'object',
      required: ['task', 'promptFormat', 'decoding', 'maxNewTokens', 'examples', 'heldoutExamples', 'data', 'seed'],
      properties: {
        task: { type: 'string' },
        promptFormat: { type: 'string' },
        promptExample: { type: 'string' },
        answerExtraction: { type: 'string' },
        decoding: { enum: ['greedy'] },
        maxNewTokens: COUNT,
        stopTokenId: { type: 'integer' },
        examples: COUNT,
        heldoutExamples: COUNT,
        data: { type: 'string' },
        seed: { type: 'integer' },
      },
    },
    resolvedGraph: { type: 'string' },
    wallSeconds: NUM,
  },
};
