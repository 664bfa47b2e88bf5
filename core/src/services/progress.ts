/** One long task's progress: call `tick` as work is done, `done` at the end. */
export interface ProgressTask {
  tick(done: number, info?: Record<string, number | string>): void;
  done(): void;
}

/**
 * Progress of long nodes: a redrawn bar on a TTY, JSON lines (`{"task","done","total",…}`)
 * otherwise, at most every `minIntervalMs`. Quiet mode prints nothing.
 */
export class Progress {
  constructor(
    private readonly stream: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean } = process.stderr,
    private readonly quiet = false,
    private readonly minIntervalMs = 500,
  ) {}

  start(task: string, total: number): ProgressTask {
    let last = 0;
    const tty = Boolean(this.stream.isTTY);
    const draw = (done: number, info: Record<string, number | string> = {}, force = false) => {
      if (this.quiet) return;
      const now = Date.now();
      if (!force && now - last < this.minIntervalMs) return;
      last = now;
      if (tty) {
        const width = 24;
        const fill = Math.round((width * Math.min(done, total)) / Math.max(total, 1));
        const extra = Object.entries(info).map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`).join(' ');
        this.stream.write(`\r${task} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total} ${extra}\x1b[K`);
      } else {
        this.stream.write(JSON.stringify({ task, done, total, ...info }) + '\n');
      }
    };
    return {
      tick: (done, info) => draw(done, info),
      done: () => { draw(total, {}, true); if (tty && !this.quiet) this.stream.write('\n'); },
    };
  }
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}
