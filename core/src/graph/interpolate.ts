import { getPath, isPlainObject, type Path } from './paths.js';

const WHOLE = /^\$\{([^}]+)\}$/;
const PART = /\$\{([^}]+)\}/g;

/**
 * Replaces `${vars.x}` (any path into the graph's `vars`) in every string below `value`.
 * A string that is only a reference keeps the referenced value's type (`${vars.k}` → 9);
 * a reference inside a longer string is formatted into it.
 */
export function interpolate(
  value: unknown, vars: Record<string, unknown>, at: Path, problems: { path: Path; message: string; fix?: string }[],
): unknown {
  if (typeof value === 'string') {
    const resolve = (expr: string): unknown => {
      const segs = expr.trim().split('.');
      if (segs[0] !== 'vars') {
        problems.push({ path: at, message: `"\${${expr}}" is not a vars reference`, fix: 'write ${vars.NAME}' });
        return undefined;
      }
      const v = getPath(vars, segs.slice(1));
      if (v === undefined) {
        problems.push({ path: at, message: `unknown variable "\${${expr}}"`, fix: `define it under vars: (have: ${Object.keys(vars).join(', ') || 'none'})` });
      }
      return v;
    };
    const whole = WHOLE.exec(value);
    if (whole) return resolve(whole[1]);
    return value.replace(PART, (_, expr: string) => String(resolve(expr)));
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, vars, [...at, i], problems));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, vars, [...at, k], problems);
    return out;
  }
  return value;
}
