import { existsSync, readFileSync } from 'node:fs';
import { GraphError, type Diagnostic } from '../errors.js';
import { displayPath } from '../graph/load-graph.js';
import { formatPath } from '../graph/paths.js';
import { checkSchema } from '../graph/schema-check.js';
import { RUN_REPORT_SCHEMA, type RunReport } from './run-report.js';

/** Problems of a report's metrics that a schema cannot say: a name declared twice. */
function duplicateNames(report: RunReport): { field: string; message: string }[] {
  const first = new Map<string, number>();
  return report.metrics.flatMap((m, i) => {
    const at = first.get(m.name);
    if (at === undefined) first.set(m.name, i);
    return at === undefined
      ? []
      : [{ field: `metrics.${i}.name`, message: `"${m.name}" is declared twice (also metrics.${at})` }];
  });
}

/**
 * Checks a report against schemas/run-report.schema.json (and that no metric name is declared
 * twice): a GraphError naming `where` and each field, with `fix`, when it does not hold.
 */
export function checkRunReport(value: unknown, where: string, fix: string): RunReport {
  const problems: Diagnostic[] = checkSchema(RUN_REPORT_SCHEMA, value)
    .slice(0, 8)
    .map((p) => ({ file: where, field: formatPath(p.path) || undefined, message: p.message, fix }));
  if (!problems.length) problems.push(...duplicateNames(value as RunReport).map((d) => ({ file: where, ...d, fix })));
  if (problems.length) throw new GraphError(problems, where);
  return value as RunReport;
}

/** The value of a JSON file e3 wrote; a located error, with `fix`, when it does not parse. */
export function readJsonFile(file: string, fix: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new GraphError([{ file: displayPath(file), message: `not valid JSON (${why})`, fix }], displayPath(file));
  }
}

/**
 * report.json of a run, checked ({@link checkRunReport}): undefined when the file does not exist;
 * a located error when it does not parse or does not match the schema.
 */
export function readRunReport(file: string, fix: string): RunReport | undefined {
  return existsSync(file) ? checkRunReport(readJsonFile(file, fix), displayPath(file), fix) : undefined;
}
