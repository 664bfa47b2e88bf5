import type { Observable } from 'rxjs';
import type { DeclaredMetric, PortSpec } from '@e3/core';
import type { Dataset } from './data/dataset.js';
import type { Report } from './report/report.js';
import type { Artifact } from './exporter/artifact.js';
import type { SearchMetrics } from './masker/search-metrics.js';
import type { ModelHandle } from './model/handle.js';
import type { LayerMaskResult } from './model/layer-mask.js';
import type { TeacherCache } from './teacher/topk-cache.js';
import type { TrainMetrics } from './trainer/train-metrics.js';

/**
 * Each port type name of the built-in plugins and the payload its streams carry. The names are
 * what manifests write (`{ type: 'Model' }`) and `e3 validate` matches between producer and
 * consumer; this map ties them to the TypeScript types, so a node's inputs are typed
 * ({@link PortInputs}) and a manifest cannot name a type that does not exist ({@link Ports}).
 * Imports here are type-only: this file is the hub every folder may use.
 */
export interface PortTypes {
  /** A loaded decoder with its tokenizer: model.hfCheckpoint, model.init, model.prune, trainers. */
  Model: ModelHandle;
  /** Examples drawn on demand: data.*. */
  Dataset: Dataset;
  /** The teacher's top-k targets per token, cached on disk: teacher.topkCache. */
  TeacherCache: TeacherCache;
  /** A layer mask (1 = keep): masker.*. */
  Mask: LayerMaskResult;
  /** A training run's step history: trainer.train, distiller.train. */
  TrainMetrics: TrainMetrics;
  /** The mask search's restarts and step history: masker.search. */
  SearchMetrics: SearchMetrics;
  /** report.json, report.md and the figures: evaluator.suite. */
  Report: Report;
  /** Metrics a node declares for the report (the evaluator's `extra` input adds them to report.json). */
  Metrics: readonly DeclaredMetric[];
  /** An exported model directory: exporter.hf, exporter.gguf. */
  Artifact: Artifact;
  /** Matches every type (e.g. the evaluator's training metrics, from whichever trainer). */
  any: unknown;
}

export type PortType = keyof PortTypes;

/** A manifest's ports, with type names checked against {@link PortTypes}. */
export type Ports = Readonly<Record<string, PortSpec & { readonly type: PortType }>>;

type Payload<S extends PortSpec> = PortTypes[S['type'] & PortType];

/**
 * The input streams `connect` receives for ports `S` (declare them `as const satisfies Ports`):
 * required ports are always there, optional ones may be absent.
 */
export type PortInputs<S extends Ports> = {
  readonly [K in keyof S as S[K]['optional'] extends true ? never : K]: Observable<Payload<S[K]>>;
} & {
  readonly [K in keyof S as S[K]['optional'] extends true ? K : never]?: Observable<Payload<S[K]>>;
};
