import { appendFileSync } from 'node:fs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * Writes `[level] scope: message` lines to stderr (at or above `level`) and every line
 * to an optional log file in the run directory.
 */
export class Logger {
  private file?: string;

  /** Built by the runtime (inject LOGGER); lines below `level` go only to the log file. */
  constructor(
    /** The lowest level printed to stderr (`--verbose`: debug; `--quiet`: warn). */
    readonly level: LogLevel = 'info',
    private readonly scope = 'e3',
    private readonly sink: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  ) {}

  /** Also append every line (all levels) to `path`. */
  toFile(path: string): void {
    this.file = path;
  }

  /** A logger whose lines say `scope` (e.g. a node id) instead of this one's, to the same places. */
  child(scope: string): Logger {
    const c = new Logger(this.level, scope, this.sink);
    c.file = this.file;
    return c;
  }

  /** Details shown with `--verbose` (always in run.log). */
  debug(msg: string): void {
    this.write('debug', msg);
  }
  /** What a user wants to see as the run goes (hidden by `--quiet`; always in run.log). */
  info(msg: string): void {
    this.write('info', msg);
  }
  /** Something the user should act on but the run goes on: say what and the fix. */
  warn(msg: string): void {
    this.write('warn', msg);
  }
  /** A failure (throw a UserError to stop the run; this only reports). */
  error(msg: string): void {
    this.write('error', msg);
  }

  /** Appends to the log file only: what the caller shows the user itself (the CLI prints a failure). */
  record(level: LogLevel, msg: string): void {
    if (this.file) appendFileSync(this.file, `${new Date().toISOString()} [${level}] ${this.scope}: ${msg}\n`);
  }

  private write(level: LogLevel, msg: string): void {
    if (RANK[level] >= RANK[this.level]) this.sink(`[${level}] ${this.scope}: ${msg}`);
    this.record(level, msg);
  }
}
