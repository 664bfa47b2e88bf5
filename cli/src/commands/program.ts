import { Command } from 'commander';
import type { ContainerModule } from 'inversify';
import { NodeError, PACKAGE_VERSION, UserError } from '@e3/core';
import { addGraphCommands } from './graph-commands.js';
import { addRunCommand } from './run-command.js';
import { addSweepCommands } from './sweep-commands.js';

/** Adds commands (the plugins package adds `model`, `generate`, `prune`). */
export type CommandContributor = (program: Command) => void;

/**
 * The `e3` command line: `run`, `validate`, `plan`, `describe`, `plugins`, `schemas`, the sweep,
 * worker, cache and compare commands, plus contributed commands. User errors print their message
 * and exit non-zero without a stack trace (unless --debug).
 */
export function buildProgram(
  modules: readonly ContainerModule[],
  contributors: readonly CommandContributor[] = [],
): Command {
  const program = new Command('e3')
    .description('e3-pruner: layer pruning for LLMs as YAML graphs of plugin nodes')
    .option('--debug', 'print stack traces for errors')
    .version(PACKAGE_VERSION, '-V, --version', 'print the e3 version')
    .showHelpAfterError()
    .exitOverride(); // before adding commands, so that they inherit it: usage errors exit 2 through runCli
  addRunCommand(program, modules);
  addGraphCommands(program, modules);
  addSweepCommands(program, modules);
  for (const add of contributors) add(program);
  return program;
}

/** Runs the CLI and exits with the right code; user errors print without a stack. */
export async function runCli(
  argv: string[],
  modules: readonly ContainerModule[],
  contributors: readonly CommandContributor[] = [],
): Promise<void> {
  // A reader that went away (the sweep that spawned this run was killed, `| head` closed) must not end
  // the run: writes to the closed pipe fail with EPIPE, and run.log keeps everything anyway.
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  const program = buildProgram(modules, contributors);
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      process.exitCode = code === 'commander.helpDisplayed' || code === 'commander.version' ? 0 : 2;
      return;
    }
    if (e instanceof UserError) {
      process.stderr.write(`e3: ${e.message}\n`);
      // A node's failure: the plugin's own stack first (where the bug is), then the framework's.
      const cause = e instanceof NodeError && e.cause instanceof Error ? e.cause.stack : undefined;
      if (debug && cause) process.stderr.write(cause + '\n');
      if (debug && e.stack) process.stderr.write(e.stack + '\n');
      process.exitCode = e.exitCode;
      return;
    }
    process.stderr.write(`e3: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.stderr.write(
      debug && e instanceof Error ? `${e.stack}\n` : '(run again with --debug for the stack trace; please report it)\n',
    );
    process.exitCode = 70;
  }
}
