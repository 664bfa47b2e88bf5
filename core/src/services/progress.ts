import cliProgress from 'cli-progress';

/** One long task's progress: call `tick` as work is done, `done` at the end. */
export interface ProgressTask {
  /** `done` units of the total are finished; `info` is shown beside the bar (e.g. `{ loss: 2.1 }`). */
  tick(done: number, info?: Record<string, number | string>): void;
  /** The task is finished: the bar is closed (call it on success and on failure). */
  done(): void;
}

/** What a task counts and what it is doing, shown with its progress. */
export interface TaskLabel {
  /** Unit of `total` (plural): steps, examples, layers, masks. Default: steps. */
  readonly unit?: string;
  /** What the node is doing, in a few words (e.g. "teacher top-10 logits"). */
  readonly what?: string;
  /** Where the task starts (a resumed task), so that its rate counts only the work done now. */
  readonly start?: number;
}

/**
 * How progress is shown: `bar` (redrawn bars with rate, elapsed time and ETA, for a terminal),
 * `plain` (one line every `everySeconds`), `json` (one JSON object per line, as often), `none`.
 * `auto` is `bar` on a terminal and `plain` otherwise.
 */
export type ProgressMode = 'auto' | 'bar' | 'plain' | 'json' | 'none';
export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'bar', 'plain', 'json', 'none'];

type Stream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

const seconds = (s: number) =>
  cliProgress.Format.TimeFormat(Math.round(s), { autopaddingChar: '0' } as cliProgress.Options, 1);
const fmt = (v: number | string) =>
  typeof v === 'string'
    ? v
    : Number.isInteger(v)
      ? String(v)
      : Math.abs(v) < 1e-3 && v !== 0
        ? v.toExponential(2)
        : v.toPrecision(4);
const percent = (done: number, total: number) => Math.floor((100 * done) / Math.max(total, 1));
const infoText = (info: Record<string, number | string>) =>
  Object.entries(info)
    .map(([k, v]) => `${k}=${fmt(v)}`)
    .join(' ');

/** Rate, elapsed time and ETA of a task from its start (`done0` is where a resumed task began). */
function timing(t0: number, done0: number, done: number, total: number) {
  const elapsed = (Date.now() - t0) / 1000;
  const rate = elapsed > 0 ? (done - done0) / elapsed : 0;
  return { elapsed, rate, eta: rate > 0 ? Math.max(0, total - done) / rate : undefined };
}

/**
 * Progress of long nodes, with rate, elapsed time and ETA: cli-progress bars on a terminal;
 * elsewhere a plain line or a JSON line at the start, every `everySeconds`, and at the end.
 * Log lines go through {@link Progress.log} so that they do not tear the bars.
 */
export class Progress {
  /** How progress is shown in this run (`auto` resolved). */
  readonly mode: Exclude<ProgressMode, 'auto'>;
  private multibar?: cliProgress.MultiBar;
  private active = 0;
  /** When a task last started, ticked or finished (`Date.now()` ms), whatever the mode: a run's sign of life. */
  lastActivityAt = 0;

  /** Built by the runtime (inject PROGRESS); `stream` defaults to stderr, `mode` to `auto`. */
  constructor(
    private readonly stream: Stream = process.stderr,
    mode: ProgressMode | boolean = 'auto',
    private readonly everySeconds = 10,
  ) {
    const m = mode === true ? 'none' : mode === false ? 'auto' : mode;
    this.mode = m === 'auto' ? (stream.isTTY ? 'bar' : 'plain') : m;
  }

  /** Writes a log line without breaking the bars being drawn. */
  log(line: string): void {
    if (this.multibar && this.active > 0) {
      this.multibar.log(line + '\n');
      this.multibar.update();
    } else this.stream.write(line + '\n');
  }

  /**
   * Starts a task of `total` units for node `task` (pass `ctx.id`): a bar, or plain/JSON lines with
   * rate, elapsed time and ETA. Call `tick(done)` as work finishes and `done()` at the end.
   */
  start(task: string, total: number, label: TaskLabel = {}): ProgressTask {
    this.lastActivityAt = Date.now();
    const inner = this.startTask(task, total, label);
    return {
      tick: (done, info) => {
        this.lastActivityAt = Date.now();
        inner.tick(done, info);
      },
      done: () => {
        this.lastActivityAt = Date.now();
        inner.done();
      },
    };
  }

  private startTask(task: string, total: number, label: TaskLabel): ProgressTask {
    const unit = label.unit ?? 'steps';
    const what = label.what ? `${label.what}: ` : '';
    if (this.mode === 'none') return { tick: () => {}, done: () => {} };
    if (this.mode === 'bar') return this.bar(task, total, unit, what, label.start ?? 0);
    const t0 = Date.now();
    let last = 0;
    const done0 = label.start ?? 0;
    let current = done0;
    let info: Record<string, number | string> = {};
    const emit = (finished: boolean) => {
      last = Date.now();
      const t = timing(t0, done0, current, total);
      if (this.mode === 'json') {
        this.stream.write(
          JSON.stringify({
            task,
            what: label.what,
            unit,
            done: current,
            total,
            rate: t.rate,
            elapsedSeconds: t.elapsed,
            etaSeconds: t.eta ?? null,
            finished,
            ...info,
          }) + '\n',
        );
        return;
      }
      const eta = finished ? 'done' : `ETA ${t.eta === undefined ? '—' : seconds(t.eta)}`;
      const extra = Object.keys(info).length ? ' · ' + infoText(info) : '';
      this.stream.write(
        `[progress] ${task}: ${what}${current}/${total} ${unit} (${percent(current, total)}%), ` +
          `${fmt(t.rate)} ${unit}/s, elapsed ${seconds(t.elapsed)}, ${eta}${extra}\n`,
      );
    };
    emit(false);
    // Ticks print at most every `everySeconds` (heartbeat lines do not hold them back).
    let lastTick = last;
    // A heartbeat: a line every `everySeconds` even between ticks (a step of minutes at real sizes),
    // whenever the event loop runs, so the output is never silent for long.
    const heartbeat = setInterval(() => {
      if (Date.now() - last >= this.everySeconds * 1000) emit(false);
    }, this.everySeconds * 1000);
    heartbeat.unref();
    return {
      tick: (done, i) => {
        current = done;
        if (i) info = i;
        if (Date.now() - lastTick >= this.everySeconds * 1000) {
          lastTick = Date.now();
          emit(false);
        }
      },
      done: () => {
        clearInterval(heartbeat);
        current = Math.max(current, total);
        emit(true);
      },
    };
  }

  private bar(task: string, total: number, unit: string, what: string, start: number): ProgressTask {
    this.multibar ??= new cliProgress.MultiBar(
      {
        stream: this.stream,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        barsize: 24,
        etaBuffer: 50,
        format:
          '{task} [{bar}] {value}/{total} {unit} | {rate} {unit}/s | ' +
          '{duration_formatted} elapsed | ETA {eta_formatted} {info}',
      },
      cliProgress.Presets.shades_classic,
    );
    this.active++;
    const t0 = Date.now();
    const bar = this.multibar.create(total, start, {
      task: `${task}: ${what}`.replace(/: $/, ''),
      unit,
      rate: '—',
      info: '',
    });
    let closed = false;
    return {
      tick: (done, info) =>
        bar.update(done, { rate: fmt(timing(t0, start, done, total).rate), info: info ? infoText(info) : '' }),
      done: () => {
        if (closed) return;
        closed = true;
        bar.update(total);
        bar.stop();
        if (--this.active === 0) {
          this.multibar?.stop();
          this.multibar = undefined;
        }
      },
    };
  }
}

/**
 * A `(done, total)` callback that starts a task on its first call (when the total is known)
 * and finishes it when done reaches total: for work that learns its size as it begins.
 */
export function trackProgress(
  progress: Progress,
  task: string,
  label: TaskLabel = {},
): (done: number, total: number) => void {
  let t: ProgressTask | undefined;
  return (done, total) => {
    t ??= progress.start(task, total, label);
    t.tick(done);
    if (done >= total) {
      t.done();
      t = undefined;
    }
  };
}
