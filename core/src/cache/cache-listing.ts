import { ENTRY_MARKER } from './cache-entry.js';
import type { CacheSurvey } from './node-cache.js';

/** `e3 cache ls --json`: every item under `<dir>/nodes/`, each with its status. */
export function surveyItems(survey: CacheSurvey): Record<string, unknown>[] {
  return [
    ...survey.entries.map((e) => ({ status: 'ok', ...e })),
    ...survey.damaged.map((d) => ({ status: 'damaged', ...d })),
    ...survey.partial.map((name) => ({ status: 'partial', name })),
    ...survey.foreign.map((f) => ({ status: 'foreign', ...f })),
  ];
}

/** The line that names what under `<dir>/nodes/` is not e3's, and says it stays. */
export function foreignNote(survey: CacheSurvey, dir: string): string {
  const names = survey.foreign.map((f) => `nodes/${f.name}${f.olderE3 ? ' (an older e3 entry?)' : ''}`);
  return (
    `${survey.foreign.length} foreign item${survey.foreign.length === 1 ? '' : 's'} in ${dir}, not written by ` +
    `e3 (no ${ENTRY_MARKER} marker), left alone: ${names.join(', ')}` +
    (survey.foreign.some((f) => f.olderE3) ? '; remove entries of an older e3 by hand once no run needs them' : '')
  );
}
