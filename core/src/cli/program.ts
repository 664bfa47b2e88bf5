import { Command, Option } from 'commander';
import { Container, type ContainerModule } from 'inversify';
import { resolve } from 'node:path';
import { GraphError, NodeError, signalExitCode, UserError } from '../errors.js';
import { diagramSvg, specDiagram } from '../plots/graph-diagram.js';
import { writeFileAtomic } from '../services/artifact-store.js';
import { Registry } from '../registry/registry.js';
import { loadPluginModule } from '../runtime/load-plugins.js';
import { prepareGraph } from '../runtime/prepare.js';
import { plannedPreflights, refuseOnProblems, warningLines } from '../runtime/preflight.js';
import { PACKAGE_VERSION, recordedStart, runGraph } from '../runtime/run-graph.js';
import { describeJson, describeMermaid, describeRegistry, describeText } from './describe.js';
import { positiveNumber, seedInteger } from './options.js';
import { PROGRESS_MODES } from '../services/progress.js';
import { writeSchemas } from './schemas.js';
import { addSweepCommands } from './sweep-commands.js';
import { planSweep, validateSweep } from './sweep-validate.js';
import { isSweepFile } from '../sweep/sweep-file.js';
import { checkCacheDir } from '../cache/node-cache.js';
import { screenshotReport } from '../plots/browser.js';

/** Adds commands (the plugins package adds `model`, `generate`, `prune`). */
export type CommandContributor = (program: Command) => void;

const collect = (v: string, prev: string[]) => [...prev, v];

/**
 * The `e3` command line: `run`, `validate`, `plugins`, `describe`, plus contributed commands.
 * User errors print their message and exit non-zero without a stack trace (unless --debug).
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
        .default('auto'),
    )
    .option('--progress-every <s>', 'seconds between plain/JSON progress lines', positiveNumber, 10)
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
    .action(async (graph: string | undefined, o) => {
      const abort = stopOnSignals();
      try {
        const start = startOf(graph, o);
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
    });

  program
    .command('validate')
    .description('check a graph (or every point of a sweep file) without running it; every problem at file:line:col')
    .argument('<graph>', 'graph YAML file, or sweep file (kind: Sweep)')
    .option('--set <path=value>', 'override a value (repeatable)', collect, [])
    .option('--plugin <module>', 'load extra plugins from a module (repeatable)', collect, [])
    .option('--json', 'machine-readable output: {"ok", "nodes"} or {"ok": false, "problems": [...]} (exit 1)')
    .action(async (graph: string, o) => {
      if (isSweepFile(graph)) return validateSweep(graph, modules, o);
      let p;
      let warnings: string[] = [];
      try {
        p = await prepareGraph(graph, { modules, sets: o.set, pluginPaths: o.plugin });
        const reports = await plannedPreflights(p);
        warnings = warningLines(reports);
        refuseOnProblems(reports);
      } catch (e) {
        if (!o.json || !(e instanceof GraphError)) throw e;
        process.stdout.write(JSON.stringify({ file: graph, ok: false, problems: e.diagnostics }, null, 2) + '\n');
        process.exitCode = e.exitCode;
        return;
      }
      for (const w of warnings) process.stderr.write(w + '\n');
      process.stdout.write(
        o.json
          ? JSON.stringify({ file: graph, ok: true, nodes: p.graph.order, warnings }, null, 2) + '\n'
          : `${graph}: ok (${p.graph.order.length} nodes: ${p.graph.order.join(' → ')})\n`,
      );
    });

  program
    .command('plan')
    .description(
      "print the pre-flight reports of a graph (the memory plan: each node's peak against the backend's limit)" +
        ', or of every distinct graph of a sweep file',
    )
    .argument('<graph>', 'graph YAML file, or sweep file (kind: Sweep)')
    .option('--set <path=value>', 'override a value (repeatable)', collect, [])
    .option('--plugin <module>', 'load extra plugins from a module (repeatable)', collect, [])
    .option('--json', 'machine-readable output')
    .action(async (graph: string, o) => {
      if (isSweepFile(graph)) return planSweep(graph, modules, o);
      const reports = await plannedPreflights(
        await prepareGraph(graph, { modules, sets: o.set, pluginPaths: o.plugin }),
        'plan',
      );
      if (o.json)
        process.stdout.write(JSON.stringify(Object.fromEntries(reports.map((r) => [r.title, r.json])), null, 2) + '\n');
      else process.stdout.write(reports.map((r) => `${r.title}\n${r.text}`).join('\n\n') + '\n');
      for (const w of warningLines(reports)) process.stderr.write(w + '\n');
      const problems = reports.flatMap((r) => r.problems);
      // The reports say that something does not fit; the located problems say what and how to fix it.
      if (problems.length && !o.json) throw new GraphError(problems);
      if (problems.length) process.exitCode = 1;
    });

  program
    .command('describe')
    .description('print the resolved graph as text and as a Mermaid flowchart')
    .argument('<graph>', 'graph YAML file')
    .option('--set <path=value>', 'override a value (repeatable)', collect, [])
    .option('--plugin <module>', 'load extra plugins (repeatable)', collect, [])
    .option('--json', 'machine-readable output: nodes in execution order with plugin, wires, ports and params')
    .option('--svg <file>', 'also draw the graph as an SVG diagram into this file')
    .action(async (graph: string, o) => {
      const p = await prepareGraph(graph, { modules, sets: o.set, pluginPaths: o.plugin });
      if (o.svg) writeFileAtomic(resolve(o.svg), diagramSvg(specDiagram(p.graph.spec)));
      process.stdout.write(
        o.json
          ? JSON.stringify(describeJson(p.graph, p.registry), null, 2) + '\n'
          : `${describeText(p.graph, p.registry)}\n\n\`\`\`mermaid\n${describeMermaid(p.graph)}\n\`\`\`\n`,
      );
    });

  program
    .command('plugins')
    .description('list registered plugins and components with their ports and params')
    .option('--plugin <module>', 'also load plugins from a module (repeatable)', collect, [])
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const container = new Container({ autobind: true });
      container.load(...modules);
      for (const p of o.plugin as string[]) container.load(...(await loadPluginModule(p)));
      const registry = new Registry(container);
      if (o.json) {
        const plugins = [...registry.plugins.values()].map(({ node: _n, ...m }) => m);
        const components = [...registry.components.values()].map(({ component: _c, ...m }) => m);
        process.stdout.write(JSON.stringify({ plugins, components }, null, 2) + '\n');
      } else process.stdout.write(describeRegistry(registry) + '\n');
    });

  program
    .command('schemas')
    .description("write each plugin's and component's params JSON Schema (schemas/plugins, schemas/components)")
    .option('--out <dir>', 'output directory', 'schemas')
    .option('--check', 'exit 1 if the files on disk differ from the registry (for CI)')
    .action(async (o) => {
      const container = new Container({ autobind: true });
      container.load(...modules);
      const stale = writeSchemas(new Registry(container), o.out, Boolean(o.check));
      if (o.check && stale.length) throw new UserError(`schemas out of date: ${stale.join(', ')}; run e3 schemas`);
      process.stdout.write(o.check ? 'schemas up to date\n' : `wrote schemas to ${o.out}\n`);
    });

  addSweepCommands(program, modules, async (args) => {
    await buildProgram(modules, contributors).parseAsync(['node', 'e3', ...args]);
  });
  for (const add of contributors) add(program);
  return program;
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
function startOf(graph: string | undefined, o: { resume?: string; set: string[]; plugin: string[]; seed?: number }) {
  if (graph) return { graph, sets: o.set, plugins: o.plugin, seed: o.seed };
  if (!o.resume) throw new UserError('give a graph file (e3 run GRAPH), or --resume RUN_DIR to continue a run');
  const recorded = recordedStart(o.resume);
  const sets = [...recorded.sets, ...o.set];
  return { graph: recorded.graph, sets, plugins: [...recorded.plugins, ...o.plugin], seed: o.seed ?? recorded.seed };
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
