import { combineLatest, first, from, map, shareReplay, switchMap, type Observable } from 'rxjs';

/**
 * The common shape of a node that computes once: waits for the first value of each named
 * input, runs `work` once, and shares (replays) its result with every output that picks
 * from it. Optional inputs that are not wired are passed as undefined.
 * @example
 *   const result$ = once(inputs, ['model', 'data'], ({ model, data }) => train(model, data));
 *   return { model: pick(result$, 'model'), metrics: pick(result$, 'metrics') };
 */
export function once<I extends object, K extends keyof I & string, T>(
  inputs: I,
  names: readonly K[],
  work: (values: { [N in K]: Received<I[N]> }) => Promise<T> | T,
): Observable<T> {
  const streams = inputs as Record<string, Observable<unknown> | undefined>;
  const wired = names.filter((n) => streams[n]);
  const ready$: Observable<Record<string, unknown>> = wired.length
    ? combineLatest(wired.map((n) => streams[n]!.pipe(first()))).pipe(
        map((vs) => Object.fromEntries(wired.map((n, i) => [n, vs[i]]))),
      )
    : from([{}]);
  return ready$.pipe(
    switchMap((values) => from(Promise.resolve().then(() => work(values as { [N in K]: Received<I[N]> })))),
    shareReplay({ bufferSize: 1, refCount: false }),
  );
}

/** The value an input stream delivers to {@link once}: undefined for an optional input that is not wired. */
export type Received<S> = S extends Observable<infer V> ? V : undefined;

/** One field of a shared result, as an output stream. */
export function pick<T, K extends keyof T>(source: Observable<T>, key: K): Observable<T[K]> {
  return source.pipe(map((r) => r[key]));
}
