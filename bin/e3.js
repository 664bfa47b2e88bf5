#!/usr/bin/env node
// The e3 command line: core commands plus the pruning plugins' commands.
import { runCli } from '@e3/core';
import { builtinModules, cliCommands } from '@e3/plugins';

await runCli(process.argv, builtinModules, cliCommands);
