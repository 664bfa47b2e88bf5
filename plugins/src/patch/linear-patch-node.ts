import { inject, injectable } from 'inversify';
import { LOGGER, once, type GraphNode, type Logger, type NodeContext, type PluginManifest } from '@e3/core';
import { encodeBatch, textCodec } from '../data/batch.js';
import type { Dataset } from '../data/dataset.js';
import type { ModelHandle } from '../model/handle.js';
import type { PortInputs, Ports } from '../ports.js';
import { linearPatch, type CalibrationBatch, type LeadingSpan, type SpanFit } from './linear-patch.js';
import * as tf from '@tensorflow/tfjs-core';

interface Params {
  lambda: number;
  calibration: number;
  batchSize: number;
  leadingSpan: LeadingSpan;
}

const inputs = {
  model: { type: 'Model', doc: 'the unpruned model the mask refers to (also the target of the fit)' },
  mask: { type: 'Mask', doc: 'from any masker' },
  data: { type: 'Dataset', doc: 'calibration examples (the training split)' },
} as const satisfies Ports;

/** The calibration batches' ids and attention (every real token is a row of the fit). */
async function calibrationBatches(model: ModelHandle, data: Dataset, p: Params, who: string) {
  const codec = textCodec(model, who);
  const examples = await data.calibration(p.calibration);
  const batches: CalibrationBatch[] = [];
  for (let i = 0; i < examples.length; i += p.batchSize) {
    const b = encodeBatch(examples.slice(i, i + p.batchSize), codec, true);
    batches.push({
      ids: tf.tensor2d(b.ids, undefined, 'int32'),
      attention: tf.tensor2d(b.attention, undefined, 'float32'),
    });
  }
  return batches;
}

/** One log line per span. */
export function describeFit(f: SpanFit): string {
  const layers = f.removed.length > 1 ? `layers ${f.removed[0]}-${f.removed.at(-1)}` : `layer ${f.removed[0]}`;
  if (f.foldedInto === 'none')
    return `${layers}: removed without a patch (no block before them, and the embedding is tied or leadingSpan is skip)`;
  return (
    `${layers}: map fitted on ${f.tokens} tokens, folded into ${f.foldedInto}; mean squared error of the ` +
    `residual stream ${f.mseRemoved.toPrecision(4)} removed → ${f.msePatched.toPrecision(4)} patched`
  );
}

/**
 * `patch.linear`: removes the masked blocks and replaces each span of them by a least-squares
 * linear map folded into the preceding block (ReplaceMe, arXiv 2505.02819); see linear-patch.ts.
 */
@injectable()
export class LinearPatchNode implements GraphNode<Params> {
  constructor(@inject(LOGGER) private readonly log: Logger) {}

  connect(ports: PortInputs<typeof inputs>, p: Params, ctx: NodeContext) {
    return {
      model: once(ports, ['model', 'mask', 'data'], async ({ model, mask, data }) => {
        const who = `node "${ctx.id}"`;
        const batches = await calibrationBatches(model, data, p, who);
        try {
          const { model: patched, fits } = await linearPatch(model, mask.mask, batches, {
            lambda: p.lambda,
            leadingSpan: p.leadingSpan,
            who,
            signal: ctx.signal,
          });
          const L = model.model.numLayers;
          this.log.info(
            `linear patch (${mask.method} mask): ${L - patched.model.numLayers} of ${L} layers removed in ` +
              `${fits.length} span${fits.length === 1 ? '' : 's'}, λ = ${p.lambda}`,
          );
          fits.forEach((f) => this.log.info(`  ${describeFit(f)}`));
          return patched;
        } finally {
          batches.forEach((b) => [b.ids, b.attention].forEach((t) => t.dispose()));
        }
      }),
    };
  }
}

export const linearPatchManifest: PluginManifest = {
  key: 'patch.linear',
  doc:
    'ReplaceMe linear patch (Shopkhoev et al. 2025, arXiv 2505.02819): removes the masked blocks and replaces ' +
    'each span of consecutive removed blocks by a d × d map fitted by ridge least squares on calibration ' +
    "activations, folded into the preceding block's MLP down projection (no extra tensors in the checkpoint).",
  inputs,
  outputs: { model: { type: 'Model', doc: 'the pruned and patched copy' } },
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      lambda: {
        type: 'number',
        minimum: 0,
        default: 1e-3,
        description:
          'ridge strength pulling the map towards the identity (plain removal), relative to the mean squared ' +
          'activation; 0 = ordinary least squares',
      },
      calibration: {
        type: 'integer',
        minimum: 1,
        default: 256,
        description: 'calibration examples (from the training split); every real token is a row of the fit',
      },
      batchSize: { type: 'integer', minimum: 1, default: 64, description: 'calibration batch size' },
      leadingSpan: {
        enum: ['auto', 'embedding', 'skip'],
        default: 'auto',
        description:
          'a span starting at layer 0 (no block before it): embedding = fold its map into the input embedding ' +
          '(refused when tied to the output head); skip = leave it unpatched; auto = embedding when untied, else skip',
      },
    },
  },
  node: LinearPatchNode,
};
