import { isAbsolute, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The runtime's own files (this package): frames there are the framework's, not a plugin's. */
const CORE_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** `file:line:col` of one stack line (`at f (file:///x.ts:3:7)` or `at file:///x.ts:3:7`). */
function frameLocation(line: string): string | undefined {
  const m = /\(?((?:file:\/\/)?\/[^()\s]+):(\d+):(\d+)\)?\s*$/.exec(line.trim());
  if (!m || !line.trim().startsWith('at ')) return undefined;
  const file = m[1].startsWith('file://') ? fileURLToPath(m[1]) : m[1];
  return `${file}:${m[2]}:${m[3]}`;
}

/**
 * Where in plugin code `error` was thrown: the first frame of its stack outside the runtime
 * (this package), node_modules and Node's internals, as a path relative to the working
 * directory when under it. Undefined when every frame is the framework's or a library's.
 */
export function pluginFrame(error: unknown): string | undefined {
  const stack = error instanceof Error ? error.stack : undefined;
  for (const line of stack?.split('\n').slice(1) ?? []) {
    const at = frameLocation(line);
    if (!at || at.startsWith(CORE_ROOT) || at.includes(`${sep}node_modules${sep}`)) continue;
    const rel = relative(process.cwd(), at);
    return rel.startsWith('..') || isAbsolute(rel) ? at : rel;
  }
  return undefined;
}
