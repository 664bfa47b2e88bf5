#!/usr/bin/env node
// The e3 command line: core commands plus the pruning plugins' commands. Source maps are on before
// anything loads, so that an error in a plugin names its .ts file and line.
process.setSourceMapsEnabled(true);
const { runCli } = await import('@e3/core');
const { builtinModules, cliCommands } = await import('@e3/plugins');

await runCli(process.argv, builtinModules, cliCommands);
