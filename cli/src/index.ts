/**
 * @e3/cli — the `e3` command line, layered above the runtime (@e3/core): the graph commands, sweeps
 * and their BullMQ queue, the node cache's commands and `e3 compare`. Other packages add their own
 * commands through `CommandContributor`s.
 */
export * from './commands/program.js';
export * from './commands/run-command.js';
export * from './commands/options.js';
export * from './commands/describe.js';
export * from './sweep/sweep-file.js';
export * from './sweep/sweep-state.js';
export * from './sweep/storage.js';
export * from './sweep/point-job.js';
export * from './sweep/recorded-json.js';
export * from './compare/collect.js';
export * from './compare/table.js';
export * from './compare/table-text.js';
export * from './compare/paired.js';
export * from './compare/compare-html.js';
