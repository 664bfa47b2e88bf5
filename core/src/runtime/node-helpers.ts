import { combineLatest, first, from, map, shareReplay, switchMap, type Observable } from 'rxjs';

/**
 * The common shape of a node that computes once: waits for the first value of each named
 * input, runs `work` once, and shares (replays) its result with every output that picks
 * from it. Optional inputs that are not wired are passed as undefined.
 * @example
 *   const result$ = once(inputs, ['model', 'data'], ({ model, data }) => train(model, data));
 *   return { model: pick(result$, 'model'), metrics: pick(result$, 'metrics') };
 */
export function once<T>(inputs: Record<string, Observable<any>>, names: readonly string[], work: (values: any) => Promise<T> | T): Observable<T> {
  const wired = names.filter((n) => inputs[n]);
  const ready$: Observable<Record<string, any>> = wired.length
    ? combineLatest(wired.map((n) => inputs[n].pipe(first()))).pipe(map((vs) => Object.fromEntries(wired.map((n, i) => [n, vs[i]]))))
    : from([{}]);
  return ready$.pipe(switchMap((values) => from(Promise.resolve().then(() => work(values)))), shareReplay({ bufferSize: 1, refCount: false }));
}

/** One field of a shared result, as an output stream. */
export function pick<T, K extends keyof T>(source: Observable<T>, key: K): Observable<T[K]> {
  return source.pipe(map((r) => r[key]));
}
