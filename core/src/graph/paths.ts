/** A path into a plain JSON-like value: object keys and array indices. */
export type Path = readonly (string | number)[];

/** `nodes.search.params.tau` → ['nodes', 'search', 'params', 'tau']; numeric segments index arrays. */
export function parsePath(dotted: string): Path {
  return dotted
    .split('.')
    .filter((s) => s.length > 0)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function formatPath(path: Path): string {
  return path.map(String).join('.');
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function getPath(root: unknown, path: Path): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (Array.isArray(cur) && typeof seg === 'number') cur = cur[seg];
    else if (isPlainObject(cur)) cur = cur[String(seg)];
    else return undefined;
  }
  return cur;
}

/**
 * Deep merge for overlays: objects merge key by key, everything else (arrays included)
 * is replaced by the overlay's value, as in torchtune and Kustomize. A `null` in the overlay
 * deletes the key (a node, a wire, a param), as Hydra's `~key` does.
 */
export function deepMerge(base: unknown, overlay: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overlay)) return structuredClone(overlay);
  const out: Record<string, unknown> = { ...structuredClone(base) };
  for (const [k, v] of Object.entries(overlay)) {
    if (v === null) delete out[k];
    else out[k] = k in out ? deepMerge(out[k], v) : structuredClone(v);
  }
  return out;
}
