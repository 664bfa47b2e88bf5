import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ArtifactStore, screenshotReport, UserError, type CommandContributor } from '@e3/core';
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
      let json: Record<string, any>;
      try {
        json = JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        throw new UserError(
          `cannot read ${file} (${(e as Error).message.split('\n')[0]}); give a run directory whose graph ` +
            'has an evaluator.suite node, after it finished',
        );
      }
      const store = new ArtifactStore(resolve(dir));
      writeReport(await buildReport(json), (name, text) => store.writeText(name, text));
      process.stdout.write(`${store.path('report.html')}\n`);
      if (o.screenshot) process.stdout.write(`${await screenshotReport(resolve(dir))}\n`);
    });
};
