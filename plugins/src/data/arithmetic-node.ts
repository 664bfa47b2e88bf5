import type { PluginManifest } from '@e3/core';
import { arithmeticDataset, type ArithmeticParams } from './arithmetic.js';
import { seededDatasetNode } from './seeded-dataset-node.js';

/** `data.arithmetic`: built-in exact-answer arithmetic problems (`A+B=` → `C`), split train/held-out by seed. */
export const ArithmeticNode = seededDatasetNode<ArithmeticParams>(arithmeticDataset);

export const arithmeticManifest: PluginManifest = {
  key: 'data.arithmetic',
  doc: 'Generates MATH-style exact-answer problems A op B = C (deterministic for a seed), split into train and held-out.',
  inputs: {},
  outputs: { data: { type: 'Dataset' } },
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ops: {
        type: 'array',
        items: { enum: ['+', '-', '*'] },
        minItems: 1,
        uniqueItems: true,
        default: ['+', '-'],
        description: 'operations',
      },
      maxOperand: {
        type: 'integer',
        minimum: 1,
        maximum: 9999,
        default: 99,
        description: 'operands range over 0..maxOperand',
      },
      heldoutFraction: {
        type: 'number',
        exclusiveMinimum: 0,
        exclusiveMaximum: 1,
        default: 0.1,
        description: 'share of problems kept out of training',
      },
      format: {
        enum: ['answer', 'steps'],
        default: 'answer',
        description:
          "'steps': answers to + and - are worked column by column before the result (47+85= → 7+5=12,4+8+1=13;132)",
      },
      splitSeed: {
        type: 'integer',
        minimum: 0,
        default: 1234,
        description:
          "seed of the train/held-out split, independent of the run seed (1234 = the shipped teacher's split)",
      },
    },
  },
  node: ArithmeticNode,
};
