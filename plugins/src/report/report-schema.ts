import type { JsonSchema } from '@e3/core';

/** A metric: a number, or null where it was NaN or not measured. */
const NUM = { type: ['number', 'null'] };
const NUMS = { type: 'array', items: NUM };
const COUNT = { type: 'integer', minimum: 0 };
const MASK = { type: 'array', items: { enum: [0, 1] } };
/** A history row: a number (or null) per recorded quantity. */
const ROWS = { type: 'array', items: { type: 'object', additionalProperties: NUM } };

const quality = {
  type: 'object',
  properties: {
    layers: COUNT,
    accuracy: NUM,
    perplexity: NUM,
    klToTeacher: NUM,
    speed: { type: 'object', properties: { prefillTokensPerSecond: NUM, decodeTokensPerSecond: NUM } },
  },
};

/**
 * The fields of report.json that `e3 report` renders (others pass through): each has the type the
 * report's tables and figures read, so that a malformed file is a located error, not a crash.
 */
export const REPORT_JSON_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    teacher: quality,
    model: quality,
    speedup: { type: 'object', properties: { prefill: NUM, decode: NUM, ideal: NUM, repeats: COUNT } },
    mask: {
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
    },
    training: {
      type: 'object',
      properties: { steps: NUM, tokens: NUM, wallSeconds: NUM, history: ROWS, evalCurve: ROWS },
    },
    search: {
      type: 'object',
      properties: {
        restarts: {
          type: 'array',
          items: { type: 'object', required: ['restart'], properties: { restart: COUNT, history: ROWS } },
        },
      },
    },
    resolvedGraph: { type: 'string' },
    wallSeconds: NUM,
  },
};
