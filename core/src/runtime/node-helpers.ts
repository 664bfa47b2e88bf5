import { combineLatest, first, from, map, shareReplay, switchMap, type Observable } from 'rxjs';
import { CancelledError } from '../errors.js';

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

/**
 * A point where a long loop may stop: throws CancelledError if `signal` is aborted, after letting
 * pending events run. Call it once per batch or step. The yield matters: a SIGINT or SIGTERM
 * handler runs only between event-loop turns, never during a chain of awaited promises (a
 * tensor's `data()` on the CPU backends resolves at once), so a loop that never yields cannot be
 * stopped. Without a signal it does nothing.
 */
export async function stopPoint(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return;
  if (!signal.aborted) await new Promise((r) => setImmediate(r));
  if (signal.aborted) throw new CancelledError();
}

/**
 * Lets every due event run, timers included: a step of minutes calls it between its parts so the
 * progress heartbeat (a setInterval) and signal handlers run. `setImmediate` would not do for the
 * heartbeat: the event loop's check phase comes before its next timers phase, so an immediate
 * resolves before any overdue timer fires; a zero timeout waits for the timers phase itself.
 */
export function yieldToTimers(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}
