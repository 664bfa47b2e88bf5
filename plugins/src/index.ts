/** @e3/plugins — the pruning nodes and components, and the model code they share. */
import 'reflect-metadata';
export * from './model/config.js';
export * from './model/safetensors.js';
export * from './model/checkpoint.js';
export * from './model/tokenizer.js';
export * from './model/decoder.js';
export * from './model/weights.js';
export * from './model/rope.js';
export * from './modules.js';
export * from './cli/commands.js';
export * from './model/generate.js';
export * from './model/handle.js';
export * from './exporter/export-checkpoint.js';
export * from './model/prune-node.js';
export * from './model/char-tokenizer.js';
