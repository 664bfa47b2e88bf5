import type { Example } from '../data/dataset.js';

/**
 * How the generated-answer task of a report was run (report.json `answerTask`), so that a figure of
 * exact match can be reproduced and compared: which prompts, which decoding, which budget, which data.
 */
export interface AnswerTaskSetup {
  readonly task: 'exact match of greedy answers';
  /** How a prompt reaches the model. */
  readonly promptFormat: string;
  /** The first prompt asked, verbatim (absent when no example has a prompt). */
  readonly promptExample?: string;
  /** How the answer is read from the completion and compared (quality.ts extractAnswer). */
  readonly answerExtraction: string;
  readonly decoding: 'greedy';
  readonly maxNewTokens: number;
  /** The token that ends an answer. */
  readonly stopTokenId: number;
  /** Held-out examples with a prompt, i.e. the ones answered and scored. */
  readonly examples: number;
  /** Held-out examples evaluated (perplexity and KL use all of them). */
  readonly heldoutExamples: number;
  /** The dataset's fingerprint (name, params and seed). */
  readonly data: string;
  /** The run's seed (the data and its held-out split are drawn from it). */
  readonly seed: number;
}

/** The setup record for `held` answered with `maxNewTokens` by a model ending answers with `stopTokenId`. */
export function answerTaskSetup(
  held: readonly Example[],
  o: { maxNewTokens: number; stopTokenId: number; data: string; seed: number },
): AnswerTaskSetup {
  const asked = held.filter((e) => e.prompt.length > 0);
  return {
    task: 'exact match of greedy answers',
    promptFormat: "the example's prompt verbatim, tokenized alone (no template, no few-shot examples)",
    ...(asked.length ? { promptExample: asked[0].prompt } : {}),
    answerExtraction:
      'the completion up to the stop token or the first newline, trimmed; it must equal the reference answer exactly',
    decoding: 'greedy',
    maxNewTokens: o.maxNewTokens,
    stopTokenId: o.stopTokenId,
    examples: asked.length,
    heldoutExamples: held.length,
    data: o.data,
    seed: o.seed,
  };
}
