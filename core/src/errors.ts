import { constants } from 'node:os';
import { pluginFrame } from './plugin-frame.js';
import { wasmOutOfMemory } from './services/wasm-out-of-memory.js';

/**
 * Errors a user can fix. The CLI prints their message without a stack trace
 * (unless `--debug`) and exits non-zero; anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  /** `message` says what is wrong, where (node, field, file:line) and the fix. */
  constructor(
    message: string,
    /** The process's exit code when this ends the run. */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** One located problem in a graph: where it is, what is wrong, how to fix it. */
export interface Diagnostic {
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  readonly col?: number;
  readonly node?: string;
  readonly field?: string;
  readonly fix?: string;
}

/** `file:line:col node "x" field "y": message (fix: ...)` — one line per problem. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}${d.line ? `:${d.line}:${d.col ?? 1}` : ''}` : '<graph>';
  const what = [d.node ? `node "${d.node}"` : '', d.field ? `field "${d.field}"` : ''].filter(Boolean).join(' ');
  return `${where}: ${what ? what + ': ' : ''}${d.message}${d.fix ? ` (fix: ${d.fix})` : ''}`;
}

/** Every problem found in a graph, reported together. */
export class GraphError extends UserError {
  constructor(
    readonly diagnostics: readonly Diagnostic[],
    where = 'the graph',
  ) {
    super(
      `${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'} in ${where}:\n` +
        diagnostics.map((d) => '  ' + formatDiagnostic(d)).join('\n'),
    );
    this.name = 'GraphError';
  }
}

/** A failure inside a running node; names the node so the user knows where to look. */
export class NodeError extends UserError {
  constructor(
    readonly nodeId: string,
    override readonly cause: unknown,
  ) {
    // The wasm backend's abort names no cause; said plainly, it is the heap running out in this node.
    const oom = wasmOutOfMemory(cause);
    const at = oom || cause instanceof UserError ? undefined : pluginFrame(cause);
    const why = oom ?? (cause instanceof Error ? cause.message : String(cause));
    super(`node "${nodeId}" failed: ${why}${at ? ` (at ${at})` : ''}`);
    this.name = 'NodeError';
  }
}

/** Exit code of a process stopped by `signal`, as shells report it: 128 + its number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(signal: string | undefined): number {
  const n = signal ? constants.signals[signal as NodeJS.Signals] : undefined;
  return 128 + (n ?? constants.signals.SIGINT);
}

/** The signal an AbortSignal was aborted with (`abort('SIGTERM')`), if its reason is a signal name. */
export function stopSignal(signal: AbortSignal | undefined): string | undefined {
  const reason: unknown = signal?.aborted ? signal.reason : undefined;
  return typeof reason === 'string' && reason in constants.signals ? reason : undefined;
}

/**
 * The run was stopped (SIGINT, SIGTERM, or its AbortSignal): exit code 128 + the signal's
 * number as shells expect (130 for SIGINT and when no signal is known, 143 for SIGTERM).
 * Nodes throw it, without a signal, where a long loop finds `ctx.signal` aborted.
 */
export class CancelledError extends UserError {
  constructor(
    readonly signal?: string,
    message = signal ? `run stopped (${signal})` : 'run stopped',
  ) {
    super(message, signalExitCode(signal));
    this.name = 'CancelledError';
  }
}
