import { CancelledError } from '@e3/core';
import type { Example } from '../data/dataset.js';
import { exactMatch, heldoutLikelihood } from '../evaluator/quality.js';
import type { ModelHandle } from '../model/handle.js';

/**
 * The distiller's held-out curve (accuracy, perplexity and KL against the tokens trained on), saved
 * with each checkpoint. An evaluation that a stop interrupts is due first when the run resumes (the
 * weights are the same).
 */
export class EvalCurve {
  readonly points: Record<string, number>[] = [];
  /** Tokens trained on so far: the curve's x-axis. */
  tokens = 0;
  private due: number | undefined;

  constructor(
    private readonly model: ModelHandle,
    private readonly held: readonly Example[],
    private readonly o: { teacher?: ModelHandle; maxNewTokens: number; signal: AbortSignal },
  ) {}

  /** Evaluates at `step`; a stop during it leaves it due (the train loop then stops and saves it). */
  async evaluate(step: number): Promise<void> {
    let em, lik;
    try {
      em = await exactMatch(this.model, this.held, { maxNewTokens: this.o.maxNewTokens, signal: this.o.signal });
      lik = await heldoutLikelihood(this.model, this.held, this.o.teacher, { signal: this.o.signal });
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
      this.due = step;
      return;
    }
    this.points.push({
      step,
      tokens: this.tokens,
      n: em.answered,
      ...(em.accuracy !== undefined ? { accuracy: em.accuracy } : {}),
      perplexity: lik.perplexity,
      ...(lik.kl !== undefined ? { kl: lik.kl } : {}),
    });
  }

  /** Runs the evaluation a stop left due, if any; throws CancelledError when stopped again (still due). */
  async catchUp(): Promise<void> {
    if (this.due === undefined) return;
    const due = this.due;
    this.due = undefined;
    await this.evaluate(due);
    if (this.due !== undefined) throw new CancelledError(); // stopped again: the checkpoint still has it
  }

  /** The curve's part of a checkpoint (train-loop.ts extraState). */
  readonly state = {
    save: () => ({ evalCurve: this.points, tokensSoFar: this.tokens, evalDue: this.due }),
    load: (j: Record<string, unknown>) => {
      this.points.push(...((j.evalCurve ?? []) as Record<string, number>[]));
      this.tokens = Number(j.tokensSoFar ?? 0);
      this.due = typeof j.evalDue === 'number' ? j.evalDue : undefined;
    },
  };
}
