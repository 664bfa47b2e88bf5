#!/usr/bin/env node
// The e3 command line (@e3/cli) with the pruning plugins' modules and commands. Source maps are on
// before anything loads, so that an error in a plugin names its .ts file and line.
process.setSourceMapsEnabled(true);
const { runCli } = await import('@e3/cli');
const { builtinModules, cliCommands } = await import('@e3/plugins');

await runCli(process.argv, builtinModules, cliCommands);
