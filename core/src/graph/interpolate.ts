import { getPath, isPlainObject, type Path } from './paths.js';

const WHOLE = /^\$\{([^}]+)\}$/;
const PART = /\$\{([^}]+)\}/g;

/**
 * What `${...}` may name: `vars.NAME` (the graph's vars), `graph.dir` / `graph.file` (the graph
 * file run or validated), and `run.dir` (the run directory, known only when a run starts:
 * left as written until {@link bindRunRefs}).
 */
export interface RefScope {
  readonly vars: Record<string, unknown>;
  /** `name`: the file name alone (e.g. for a record that should not carry local paths). */
  readonly graph: { readonly dir: string; readonly file: string; readonly name: string };
}

/** Roots whose references stay as written at load time and are bound when the run starts. */
const DEFERRED = ['run'];

/**
 * Replaces `${vars.x}` (any path into the graph's `vars`) and `${graph.dir}` in every string
 * below `value`. A string that is only a reference keeps the referenced value's type
 * (`${vars.k}` → 9); a reference inside a longer string is formatted into it.
 */
export function interpolate(
  value: unknown,
  scope: RefScope,
  at: Path,
  problems: { path: Path; message: string; fix?: string }[],
): unknown {
  return mapStrings(value, at, (text, path) =>
    substitute(text, (expr) => {
      const segs = expr.trim().split('.');
      if (DEFERRED.includes(segs[0])) return undefined;
      if (segs[0] !== 'vars' && segs[0] !== 'graph') {
        problems.push({
          path,
          message: `"\${${expr}}" is not a known reference`,
          fix: 'write ${vars.NAME}, ${graph.dir} or ${run.dir}',
        });
        return null;
      }
      const v = getPath(segs[0] === 'vars' ? scope.vars : scope.graph, segs.slice(1));
      if (v === undefined) {
        const fix =
          segs[0] === 'vars'
            ? `define it under vars: (have: ${Object.keys(scope.vars).join(', ') || 'none'})`
            : 'the graph has ${graph.dir}, ${graph.file} and ${graph.name}';
        problems.push({ path, message: `unknown variable "\${${expr}}"`, fix });
        return null;
      }
      return v;
    }),
  );
}

/** Replaces `${run.dir}` everywhere below `value` once the run directory is known. */
export function bindRunRefs(value: unknown, run: { dir: string }): unknown {
  return mapStrings(value, [], (text) => substitute(text, (expr) => (expr.trim() === 'run.dir' ? run.dir : undefined)));
}

/**
 * Replaces each `${expr}` in `text` by `lookup(expr)`; `undefined` keeps the reference as
 * written, `null` marks a problem the lookup reported. A whole-string reference keeps its type.
 */
function substitute(text: string, lookup: (expr: string) => unknown): unknown {
  const whole = WHOLE.exec(text);
  if (whole) {
    const v = lookup(whole[1]);
    return v === undefined ? text : v === null ? undefined : v;
  }
  return text.replace(PART, (ref, expr: string) => {
    const v = lookup(expr);
    return v === undefined ? ref : String(v === null ? undefined : v);
  });
}

function mapStrings(value: unknown, at: Path, f: (text: string, at: Path) => unknown): unknown {
  if (typeof value === 'string') return f(value, at);
  if (Array.isArray(value)) return value.map((v, i) => mapStrings(v, [...at, i], f));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = mapStrings(v, [...at, k], f);
    return out;
  }
  return value;
}
