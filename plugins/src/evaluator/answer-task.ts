import type { ReportAnswerTask } from '@e3/core';
import type { Example } from '../data/dataset.js';

/** How the generated-answer task of a report was run (report.json `answerTask`, core's ReportAnswerTask). */
export type AnswerTaskSetup = ReportAnswerTask;

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
