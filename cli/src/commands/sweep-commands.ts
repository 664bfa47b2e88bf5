import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import type { ContainerModule } from 'inversify';
import { checkCacheDir, foreignNote, NodeCache, surveyItems, UserError, writeFileAtomic } from '@e3/core';
import { collectRuns } from '../compare/collect.js';
import { compareTable } from '../compare/table.js';
import { compareMarkdown } from '../compare/table-text.js';
import { compareHtml } from '../compare/compare-html.js';
import { checkPoints } from '../sweep/check-points.js';
import { runSweep } from '../sweep/run-sweep.js';
import { loadSweepFile } from '../sweep/sweep-file.js';
import { formatSweepStatus, readSweepState, refreshSweepState, SWEEP_JSON } from '../sweep/sweep-state.js';
import { runWorker } from '../sweep/worker.js';
import { collect, integerAtLeast, positiveInteger, seedList } from './options.js';
import { RUN_DEFAULTS, runCommand } from './run-command.js';

type Modules = readonly ContainerModule[];
const log = (line: string) => process.stderr.write(`e3: ${line}\n`);

/** Runs `fn` with an AbortSignal that SIGINT/SIGTERM abort. */
async function withSignal<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const stop = (signal: NodeJS.Signals) => abort.abort(signal);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await fn(abort.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

function queueUrl(given: string | undefined): string | undefined {
  return given ?? (process.env.E3_QUEUE || undefined);
}

/** `e3 sweep`, `e3 worker`, `e3 cache ls|gc` and `e3 compare`. */
export function addSweepCommands(program: Command, modules: Modules): void {
  addSweepCommand(program, modules);
  addWorkerCommand(program, modules);
  addCacheCommands(program);
  addCompareCommand(program);
}

function addSweepCommand(program: Command, modules: Modules): void {
  program
    .command('sweep')
    .description('run a graph over a grid of --set values and seeds (a sweep file), locally or on a queue')
    .argument('[sweep]', 'sweep file (apiVersion: e3/v1, kind: Sweep)')
    .option('--out <dir>', 'sweep directory (default sweeps/<sweep file name>); run again to continue it')
    .option('--parallel <n>', 'points run at once without a queue, each an e3 run process', positiveInteger, 1)
    .option('--queue <url>', 'put the points on a BullMQ queue at redis://host:port for e3 worker (or E3_QUEUE)')
    .option('--no-wait', 'with --queue: return once the points are queued')
    .option('--status <dir>', 'print the state of each point of a sweep directory and exit')
    .option('--set <path=value>', "override a value in every point (repeatable), after the file's set", collect, [])
    .option('--seeds <list>', "seeds instead of the file's, e.g. 0,1,2 (distinct, 0 to 2^32-1)", seedList)
    .option('--dry-run', "check the sweep file and every point's graph, print the points, run nothing")
    .option(
      '--force-new',
      'when --out holds another sweep, or this one after its graph or an overlay changed: start DIR-2 (DIR-3, …)',
    )
    .action(async (file: string | undefined, o) => {
      if (o.status) {
        const state = refreshSweepState(readSweepState(o.status), o.status);
        process.stdout.write(formatSweepStatus(state) + '\n');
        return;
      }
      if (!file) throw new UserError('give a sweep file (e3 sweep SWEEP.yaml), or --status DIR');
      if (o.dryRun) {
        const plan = loadSweepFile(file, { sets: o.set, seeds: o.seeds });
        await checkPoints(plan, modules);
        for (const p of plan.points) process.stdout.write(`${p.id}\t${[...p.sets, `--seed ${p.seed}`].join(' ')}\n`);
        log(`${file}: ok (${plan.points.length} points)`);
        return;
      }
      const out = o.out ?? join('sweeps', basename(file).replace(/\.ya?ml$/, ''));
      const state = await withSignal((signal) =>
        runSweep(file, {
          modules,
          outDir: out,
          overrides: { sets: o.set, seeds: o.seeds },
          parallel: o.parallel,
          queue: queueUrl(o.queue),
          noWait: !o.wait,
          signal,
          log,
          forceNew: Boolean(o.forceNew),
        }),
      );
      log(`${state.counts.succeeded} of ${state.points.length} points succeeded; e3 compare ${state.dir}`);
      process.stdout.write(`${state.dir}\n`);
    });
}

/** `e3 worker`: each point runs in this process through the run command's function (runCommand). */
function addWorkerCommand(program: Command, modules: Modules): void {
  program
    .command('worker')
    .description('take sweep points off a BullMQ queue and run them, one at a time (start one per machine or core)')
    .option('--queue <url>', 'redis://host:port (or E3_QUEUE)')
    .option(
      '--lock-seconds <n>',
      "job lock; a killed worker's point passes to another after about twice this",
      integerAtLeast(1),
      30,
    )
    .option('--workdir <dir>', "run points here and upload them to the sweep's storage (no shared file system)")
    .option('--until-empty', 'exit once the queue has no waiting or running point')
    .action(async (o) => {
      const url = queueUrl(o.queue);
      if (!url) throw new UserError('give the queue: e3 worker --queue redis://host:port (or set E3_QUEUE)');
      await withSignal((signal) =>
        runWorker({
          url,
          run: (point) => runCommand({ ...RUN_DEFAULTS, ...point }, modules),
          lockSeconds: o.lockSeconds,
          workdir: o.workdir,
          untilEmpty: Boolean(o.untilEmpty),
          log,
          signal,
        }),
      );
    });
}

function addCacheCommands(program: Command): void {
  const cache = program
    .command('cache')
    .description('the node cache of deterministic node outputs (see e3 run --cache)');
  cache
    .command('ls')
    .description('list cached node outputs, least recently used first, then damaged entries and foreign files')
    .argument('<dir>', "cache directory (a sweep's is <sweep>/cache)")
    .option('--json', 'machine-readable output: every item, with its status (ok, damaged, partial, foreign)')
    .action((dir: string, o) => {
      const survey = new NodeCache(checkCacheDir(dir, 'cache ls')).survey();
      if (o.json) {
        process.stdout.write(JSON.stringify(surveyItems(survey), null, 2) + '\n');
        return;
      }
      const bytes = survey.entries.reduce((a, e) => a + e.bytes, 0);
      for (const e of survey.entries) {
        process.stdout.write(
          `${e.key}  ${e.plugin.padEnd(18)} ${e.node.padEnd(10)} ${String(e.bytes).padStart(9)} B` +
            `  used ${e.lastUsedAt}  from ${e.run}\n`,
        );
      }
      for (const d of survey.damaged) {
        process.stdout.write(`${d.name}  damaged: ${d.reason} (never used; e3 cache gc removes it)\n`);
      }
      for (const p of survey.partial) process.stdout.write(`${p}  half-written by e3\n`);
      process.stdout.write(`${survey.entries.length} entries, ${bytes} bytes in ${dir}\n`);
      if (survey.foreign.length) process.stdout.write(foreignNote(survey, dir) + '\n');
    });
  cache
    .command('gc')
    .description('remove entries not used for --older-than days, damaged and half-written ones (only what e3 wrote)')
    .argument('<dir>', 'cache directory')
    .option('--older-than <days>', 'age in days since last use; 0 removes every entry', integerAtLeast(0), 30)
    .action((dir: string, o) => {
      const cache = new NodeCache(checkCacheDir(dir, 'cache gc'));
      const removed = cache.gc(o.olderThan);
      process.stdout.write(`removed ${removed.length} entr${removed.length === 1 ? 'y' : 'ies'} from ${dir}\n`);
      const survey = cache.survey();
      if (survey.foreign.length) process.stdout.write(foreignNote(survey, dir) + '\n');
    });
}

function addCompareCommand(program: Command): void {
  program
    .command('compare')
    .description(
      'compare runs or sweeps: one row per setting, mean ± std over seeds of every declared metric, paired ' +
        'differences to the first row with 95% intervals, masks, timing apart (markdown to stdout)',
    )
    .argument('<dirs...>', 'run directories and/or sweep directories')
    .option('--per-seed', "also list each seed's values, run directory and removed layers")
    .option(
      '--out <dir>',
      'also write compare.json and compare.html here (default: the sweep directory, for one sweep)',
    )
    .action(async (dirs: string[], o) => {
      const { runs, keys, unfinished } = collectRuns(dirs);
      if (!runs.some((r) => (r.status ?? 'succeeded') === 'succeeded'))
        throw new UserError(`no finished run in ${dirs.join(', ')}; e3 sweep --status DIR shows progress`);
      const table = compareTable(runs, keys, unfinished);
      process.stdout.write(compareMarkdown(table, { perSeed: o.perSeed }));
      const out = o.out ?? (dirs.length === 1 && existsSync(join(dirs[0], SWEEP_JSON)) ? dirs[0] : undefined);
      if (!out) return;
      writeFileAtomic(join(out, 'compare.json'), JSON.stringify(table, null, 2) + '\n');
      writeFileAtomic(join(out, 'compare.html'), await compareHtml(table, runs, `e3 compare ${dirs.join(' ')}`));
      log(`wrote ${join(out, 'compare.json')} and ${join(out, 'compare.html')}`);
    });
}
