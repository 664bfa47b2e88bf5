/** The first dotted path where two plain JSON values differ, or undefined when they are equal. */
export function firstDifference(a: unknown, b: unknown, at: string[] = []): string | undefined {
  const here = at.join('.') || '(root)';
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a === b ? undefined : here;
  if (Array.isArray(a) !== Array.isArray(b)) return here;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], [...at, k]);
    if (d) return d;
  }
  return undefined;
}
