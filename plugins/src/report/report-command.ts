import { join, resolve } from 'node:path';
import { readRecordedJson, type CommandContributor } from '@e3/cli';
import { ArtifactStore, UserError } from '@e3/core';
import { screenshotReport } from '@e3/plots';
import { REPORT_JSON_SCHEMA } from './report-schema.js';
import { buildReport, writeReport } from './write-report.js';

/** `e3 report RUN_DIR`: rebuilds report.md, report.html and figures/ from the run's report.json. */
export const reportCommand: CommandContributor = (program) => {
  program
    .command('report')
    .description('rebuild report.md, report.html and figures/*.svg of a run from its report.json')
    .argument('<runDir>', 'run directory (or an export directory) holding report.json')
    .option('--screenshot', 'also render report.html in headless Chromium and write report.png beside it')
    .action(async (dir: string, o: { screenshot?: boolean }) => {
      const file = join(resolve(dir), 'report.json');
      const fix =
        'the evaluator writes report.json; restore it, or run the graph again (e3 run GRAPH --resume RUN_DIR)';
      const json = readRecordedJson(file, REPORT_JSON_SCHEMA, fix);
      if (!json) {
        throw new UserError(
          `cannot read ${file} (no such file); give a run directory whose graph has an evaluator.suite node, ` +
            'after it finished',
        );
      }
      const store = new ArtifactStore(resolve(dir));
      writeReport(await buildReport(json), (name, text) => store.writeText(name, text));
      process.stdout.write(`${store.path('report.html')}\n`);
      if (o.screenshot) process.stdout.write(`${await screenshotReport(resolve(dir))}\n`);
    });
};
