import { NodeError } from '../errors.js';

/** `stallSeconds` when a graph does not set it: generous, since one step of a real model can take minutes. */
export const DEFAULT_STALL_SECONDS = 1800;

export interface StallOptions {
  /** A run that makes no progress for this long fails, naming the node it waits on. */
  readonly seconds: number;
  /** When a node last reported progress (`Date.now()` ms), e.g. a progress bar's tick: it counts as progress. */
  readonly activity?: () => number;
}

/** What a pending run looks like, node by node, in execution order. */
export interface PendingNode {
  readonly id: string;
  readonly plugin: string;
  /** Its input ports, each with its wire (`node.port`) and whether that stream has completed. */
  readonly inputs: { port: string; wire: string; complete: boolean }[];
  /** Its output ports not yet completed, with how many values each has emitted. */
  readonly openOutputs: { port: string; values: number }[];
}

const quote = (names: string[]) => names.map((n) => `"${n}"`).join(', ');

/**
 * Why a run with pending nodes cannot finish: the node that holds it up (the first pending node
 * whose inputs have all completed: it should complete its outputs but does not) and the nodes
 * waiting on it with the port each waits on. Returns the blamed node with the text.
 */
export function describePending(nodes: PendingNode[]): { node: string; text: string } {
  const stuck = nodes.find((n) => n.inputs.every((i) => i.complete)) ?? nodes[0];
  const outputs = stuck.openOutputs.map((o) => `"${o.port}" (${o.values} value${o.values === 1 ? '' : 's'} so far)`);
  const waiting = nodes
    .filter((n) => n !== stuck)
    .map((n) => {
      const open = n.inputs.filter((i) => !i.complete);
      return open.length
        ? `node "${n.id}" waits on input ${quote(open.map((i) => i.port))} (from ${open.map((i) => i.wire).join(', ')})`
        : `node "${n.id}" has not completed output ${quote(n.openOutputs.map((o) => o.port))}`;
    });
  const inputs = stuck.inputs.length ? 'all its inputs have completed' : 'it has no inputs';
  const text =
    `its output ${outputs.join(', ')} never completed (${inputs}; plugin ${stuck.plugin})` +
    (waiting.length ? `; ${waiting.join('; ')}` : '');
  return { node: stuck.id, text };
}

/**
 * Watches a running graph for lost progress and fails it, naming the pending node:
 * - when no port emitted or completed and no node reported progress for `seconds` (a stream
 *   that waits forever on something that will not come);
 * - at once when the process has nothing left to do (no timer, no I/O) while nodes are pending:
 *   a stream that will never complete, which would otherwise end the process silently.
 * Its timer does not keep the process alive.
 */
export class StallWatch {
  private last = Date.now();
  private timer?: NodeJS.Timeout;
  private readonly onEmpty = () => this.fail('nothing is left to run (no timer or I/O pending)');

  constructor(
    private readonly options: StallOptions,
    private readonly pending: () => PendingNode[],
    private readonly stop: (e: Error) => void,
  ) {}

  /** A value or a completion: progress. */
  touch(): void {
    this.last = Date.now();
  }

  start(): void {
    const ms = this.options.seconds * 1000;
    this.timer = setInterval(
      () => {
        const last = Math.max(this.last, this.options.activity?.() ?? 0);
        if (Date.now() - last >= ms) this.fail(`no progress for ${this.options.seconds} s (the graph's stallSeconds)`);
      },
      Math.min(Math.max(ms / 10, 50), 5000),
    );
    this.timer.unref();
    process.on('beforeExit', this.onEmpty);
  }

  dispose(): void {
    clearInterval(this.timer);
    process.off('beforeExit', this.onEmpty);
  }

  private fail(why: string): void {
    const nodes = this.pending();
    if (nodes.length === 0) return;
    const { node, text } = describePending(nodes);
    this.dispose();
    this.stop(
      new NodeError(
        node,
        new Error(
          `the run cannot finish: ${why}; ${text}. A stream that never completes is a bug in its plugin; ` +
            'if the node is only slow to report, raise stallSeconds in the graph',
        ),
      ),
    );
  }
}
