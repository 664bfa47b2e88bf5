/**
 * An example plugin that declares its own metric for the run report, with no change to e3:
 * `example.keptShare` reads the chosen mask and declares the share of layers it keeps. Wired
 * into the evaluator's `extra` input (examples/kept-share.yaml), the metric lands in
 * report.json's `metrics` and `e3 compare` shows it as a column.
 */
import 'reflect-metadata';
import { injectable } from 'inversify';
import { map, type Observable } from 'rxjs';
import type { DeclaredMetric, GraphNode, NodeContext, PluginManifest } from '@e3/core';

@injectable()
class KeptShareNode implements GraphNode<Record<string, never>> {
  connect(inputs: { mask: Observable<{ mask: number[] }> }, _p: Record<string, never>, ctx: NodeContext) {
    const metrics$ = inputs.mask.pipe(
      map((m): DeclaredMetric[] => [
        {
          name: 'example.keptShare',
          heading: 'kept share',
          unit: 'fraction',
          direction: 'lower',
          n: m.mask.length,
          of: 'layers',
          value: m.mask.filter((x) => x === 1).length / m.mask.length,
          source: ctx.id,
        },
      ]),
    );
    return { metrics: metrics$ };
  }
}

export const plugins: PluginManifest[] = [
  {
    key: 'example.keptShare',
    doc: 'Declares the share of layers the mask keeps as a report metric (lower: a smaller model).',
    inputs: { mask: { type: 'Mask' } },
    outputs: { metrics: { type: 'Metrics' } },
    params: { type: 'object', additionalProperties: false, properties: {} },
    node: KeptShareNode,
  },
];
