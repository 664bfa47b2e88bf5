/**
 * @e3/core — the graph runtime. Knows nothing about pruning: YAML graphs of plugin nodes,
 * validated, wired by inversify, streamed by RxJS, with run services and the plugin API. The command
 * line (@e3/cli) and the figures (@e3/plots) are layered above it.
 */
import 'reflect-metadata';
export * from './errors.js';
export * from './did-you-mean.js';
export * from './graph/paths.js';
export * from './graph/spec.js';
export * from './graph/load-graph.js';
export * from './graph/yaml-file.js';
export * from './graph/validate.js';
export * from './graph/toposort.js';
export * from './graph/schema-check.js';
export * from './registry/manifest.js';
export * from './registry/tokens.js';
export * from './registry/registry.js';
export * from './runtime/executor.js';
export * from './runtime/stall-watch.js';
export * from './runtime/components.js';
export * from './runtime/prepare.js';
export * from './runtime/preflight.js';
export * from './runtime/run-graph.js';
export * from './runtime/run-info.js';
export * from './runtime/load-plugins.js';
export * from './services/rng.js';
export * from './services/logger.js';
export * from './services/progress.js';
export * from './services/clock.js';
export * from './services/artifact-store.js';
export * from './services/output-guard.js';
export * from './services/leftovers.js';
export * from './runtime/run-lock.js';
export * from './runtime/node-keys.js';
export * from './runtime/first-difference.js';
export * from './services/backend.js';
export { limitWebgpuBindings, webgpuSplitCounts } from './webgpu/large-tensors.js';
export * from './services/user-paths.js';
export * from './runtime/node-helpers.js';
export * from './cache/node-cache.js';
export * from './runtime/cache-keys.js';
export type { NodeContent } from './cache/cache-entry.js';
export * from './cache/file-hashes.js';
export * from './cache/code-hash.js';
export * from './cache/cache-listing.js';
export * from './runtime/node-reuse.js';
export * from './runtime/time-report.js';
export * from './graph/component-names.js';
export * from './report/run-report.js';
export * from './report/run-report-check.js';
