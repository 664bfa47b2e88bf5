/**
 * @e3/core — the graph runtime. Knows nothing about pruning: YAML graphs of plugin nodes,
 * validated, wired by inversify, streamed by RxJS, with run services and a CLI.
 */
import 'reflect-metadata';
export * from './errors.js';
export * from './did-you-mean.js';
export * from './graph/paths.js';
export * from './graph/spec.js';
export * from './graph/load-graph.js';
export * from './graph/validate.js';
export * from './graph/toposort.js';
export * from './graph/schema-check.js';
export * from './registry/manifest.js';
export * from './registry/tokens.js';
export * from './registry/registry.js';
export * from './runtime/executor.js';
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
export * from './cli/program.js';
export * from './cli/options.js';
export * from './cli/describe.js';
export * from './runtime/node-helpers.js';
export * from './cache/node-cache.js';
export * from './runtime/node-reuse.js';
export * from './sweep/sweep-file.js';
export * from './sweep/sweep-state.js';
export * from './sweep/storage.js';
export * from './compare/collect.js';
export * from './compare/table.js';
export * from './plots/index.js';
export * from './runtime/time-report.js';
