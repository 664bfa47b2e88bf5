/** Levenshtein distance, iterative two-row form. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The closest candidate to `word`, if it is close enough to be a plausible typo
 * (distance at most a third of the word, at least 2), compared case-insensitively.
 * @example didYouMean('sampler.gumbelTopK', ['sampler.gumbelTopk']) // 'sampler.gumbelTopk'
 */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  return bestDist <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** `did you mean "x"?` or, with no close match, the list of what exists. */
export function suggestion(word: string, candidates: readonly string[]): string {
  const near = didYouMean(word, candidates);
  if (near) return `did you mean "${near}"?`;
  return candidates.length
    ? `known: ${candidates.slice(0, 12).join(', ')}${candidates.length > 12 ? ', …' : ''}`
    : 'none are defined';
}
