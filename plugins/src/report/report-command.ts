import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type CommandContributor } from '@e3/cli';
import {
  ArtifactStore,
  checkRunReport,
  displayPath,
  isPlainObject,
  readJsonFile,
  UserError,
  type RunReport,
} from '@e3/core';
import { screenshotReport } from '@e3/plots';
import { evaluatorMetrics } from './declared-metrics.js';
import { buildReport, writeReport } from './write-report.js';

const FIX = 'the evaluator writes report.json; restore it, or run the graph again (e3 run GRAPH --resume RUN_DIR)';

/**
 * report.json of `dir`, checked against schemas/run-report.schema.json. One written before
 * metrics were declared (no `metrics`) gets the evaluator's, from its sections.
 */
function readReport(dir: string): { report: RunReport; upgraded: boolean } {
  const file = join(resolve(dir), 'report.json');
  if (!existsSync(file)) {
    throw new UserError(
      `cannot read ${file} (no such file); give a run directory whose graph has an evaluator.suite node, ` +
        'after it finished',
    );
  }
  let value = readJsonFile(file, FIX);
  const upgraded = isPlainObject(value) && !('metrics' in value);
  if (upgraded) value = { metrics: evaluatorMetrics(value as Omit<RunReport, 'metrics'>), ...(value as object) };
  return { report: checkRunReport(value, displayPath(file), FIX), upgraded };
}

/** `e3 report RUN_DIR`: rebuilds report.md, report.html and figures/ from the run's report.json. */
export const reportCommand: CommandContributor = (program) => {
  program
    .command('report')
    .description('rebuild report.md, report.html and figures/*.svg of a run from its report.json')
    .argument('<runDir>', 'run directory (or an export directory) holding report.json')
    .option('--screenshot', 'also render report.html in headless Chromium and write report.png beside it')
    .action(async (dir: string, o: { screenshot?: boolean }) => {
      const { report, upgraded } = readReport(dir);
      const store = new ArtifactStore(resolve(dir));
      writeReport(await buildReport(report), (name, text) => store.writeText(name, text));
      if (upgraded)
        process.stderr.write(`e3: ${store.path('report.json')} had no declared metrics; added the evaluator's\n`);
      process.stdout.write(`${store.path('report.html')}\n`);
      if (o.screenshot) process.stdout.write(`${await screenshotReport(resolve(dir))}\n`);
    });
};
