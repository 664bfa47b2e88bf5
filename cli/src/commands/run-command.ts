import { Option, type Command } from 'commander';
import type { ContainerModule } from 'inversify';
import {
  checkCacheDir,
  PROGRESS_MODES,
  recordedStart,
  runGraph,
  signalExitCode,
  UserError,
  type LogLevel,
  type ProgressMode,
} from '@e3/core';
import { screenshotReport } from '@e3/plots';
import { collect, positiveNumber, seedInteger } from './options.js';

/** What `e3 run` is asked to do: its argument and options, as commander parses them. */
export interface RunRequest {
  /** The graph file; with `resume` and no graph, the run's own graph and --set values. */
  readonly graph?: string;
  readonly set: readonly string[];
  readonly out?: string;
  readonly resume?: string;
  readonly seed?: number;
  readonly plugin: readonly string[];
  readonly cache?: string;
  readonly quiet?: boolean;
  readonly progress: ProgressMode;
  readonly progressEvery: number;
  readonly json?: boolean;
  readonly screenshot?: boolean;
  readonly logLevel?: LogLevel;
}

/** The options `e3 run` has when none is given (commander's defaults below). */
export const RUN_DEFAULTS = {
  set: [],
  plugin: [],
  progress: 'auto',
  progressEvery: 10,
} as const satisfies Partial<RunRequest>;

/** `e3 run`: the command, whose action is runCommand. */
export function addRunCommand(program: Command, modules: readonly ContainerModule[]): void {
  program
    .command('run')
    .description('validate and run a graph')
    .argument('[graph]', "graph YAML file (with --resume: the run's own graph and --set values by default)")
    .option('--set <path=value>', 'override a value (repeatable), e.g. nodes.search.params.steps=200', collect, [])
    .option('--out <dir>', 'run directory (default runs/<graph>-<time>)')
    .option('--resume <runDir>', 'continue a stopped run from its checkpoints (nodes whose params changed rerun)')
    .option('--seed <n>', 'seed of the run RNG (overrides the graph)', seedInteger)
    .option('--plugin <module>', 'load extra plugins from a module (repeatable)', collect, [])
    .option('--cache <dir>', 'node cache: reuse (and store) the outputs of deterministic nodes, e.g. mask searches')
    .option('--quiet', 'no progress, and only warnings and errors on stderr (run.log keeps everything)')
    .addOption(
      new Option(
        '--progress <mode>',
        'progress display: bars on a terminal, otherwise a plain line every ' +
          '--progress-every seconds, or JSON lines',
      )
        .choices([...PROGRESS_MODES])
        .default(RUN_DEFAULTS.progress),
    )
    .option(
      '--progress-every <s>',
      'seconds between plain/JSON progress lines',
      positiveNumber,
      RUN_DEFAULTS.progressEvery,
    )
    .option('--json', 'print the run summary (run.json) on stdout instead of the run directory')
    .option('--screenshot', 'render report.html in headless Chromium and write report.png into the run directory')
    .addOption(
      new Option('--log-level <level>', 'log level (default info; warn with --quiet)').choices([
        'debug',
        'info',
        'warn',
        'error',
      ]),
    )
    .action((graph: string | undefined, o: Omit<RunRequest, 'graph'>) => runCommand({ ...o, graph }, modules));
}

/**
 * Runs a graph as `e3 run` does (`e3 worker` calls it for each point): stopped by SIGINT/SIGTERM
 * (see stopOnSignals), the run directory (or with `json` the run summary) printed on stdout.
 */
export async function runCommand(o: RunRequest, modules: readonly ContainerModule[]): Promise<void> {
  const abort = stopOnSignals();
  try {
    const start = startOf(o);
    const { runDir, summary } = await runGraph(start.graph, {
      modules,
      sets: start.sets,
      outDir: o.out,
      resumeDir: o.resume,
      seed: start.seed,
      pluginPaths: start.plugins,
      signal: abort.signal,
      logLevel: o.logLevel,
      quiet: o.quiet,
      cacheDir: o.cache && checkCacheDir(o.cache, '--cache'),
      progress: o.progress,
      progressEvery: o.progressEvery,
    });
    const screenshot = o.screenshot ? await screenshotReport(runDir) : undefined;
    const summaryJson = () => JSON.stringify({ runDir, ...summary, screenshot }, null, 2);
    process.stdout.write(o.json ? summaryJson() + '\n' : `${runDir}\n`);
  } finally {
    abort.release();
  }
}

/** A second signal within this many ms of the first is the same stop delivered twice (see stopOnSignals). */
const SAME_STOP_MS = 500;

/**
 * SIGINT and SIGTERM stop a run: the first aborts the returned controller with the signal's
 * name (the run stops and saves what it can resume from), a second one exits at once with
 * 128 + its number. `release()` removes the handlers after a run that was not stopped; a
 * stopped one keeps them, so that a signal while its nodes wind down still exits at once.
 * A second signal within SAME_STOP_MS counts as the first: a terminal's Ctrl-C reaches the
 * `e3 run` children of `e3 sweep` both from the terminal and from `e3 sweep` itself.
 */
function stopOnSignals(): AbortController & { release(): void } {
  const abort = new AbortController();
  let at = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!abort.signal.aborted) {
      at = Date.now();
      abort.abort(signal);
    } else if (Date.now() - at >= SAME_STOP_MS) {
      process.stderr.write(`e3: ${signal} again: exiting at once\n`);
      process.exit(signalExitCode(signal));
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return Object.assign(abort, {
    release: () => {
      if (abort.signal.aborted) return;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  });
}

/**
 * The graph, --set values and plugins a run starts from: as given, or with `--resume DIR` and
 * no graph, those the run recorded in its run.json (later --set values apply on top).
 */
function startOf(o: RunRequest) {
  const { graph, set, plugin } = o;
  if (graph) return { graph, sets: set, plugins: plugin, seed: o.seed };
  if (!o.resume) throw new UserError('give a graph file (e3 run GRAPH), or --resume RUN_DIR to continue a run');
  const recorded = recordedStart(o.resume);
  const sets = [...recorded.sets, ...set];
  return { graph: recorded.graph, sets, plugins: [...recorded.plugins, ...plugin], seed: o.seed ?? recorded.seed };
}
