import { strict as assert } from 'node:assert';
import { evaluatorMetrics } from '@e3/plugins';

describe("the evaluator's declared metrics", () => {
  it('quality with its n, the final loss terms over the last step’s tokens, timing marked noisy', () => {
    const step = (s: number, tokens: number, terms: Record<string, number>) => ({
      step: s,
      lr: 0.1,
      gradNorm: 1,
      tokens,
      ...terms,
    });
    const metrics = evaluatorMetrics(
      {
        model: { layers: 6, accuracy: 0.5, perplexity: 2.5, klToTeacher: Number.NaN, examples: 10, answered: 8 },
        training: {
          node: 'distill',
          steps: 2,
          tokens: 300,
          wallSeconds: 4,
          history: [step(0, 120, { loss: 2 }), step(1, 300, { loss: 1.5, forwardKl: 1, hiddenMse: 0.5, alpha0: 3 })],
        },
        speedup: { prefill: 1.5, decode: 1.25, ideal: 1.33, repeats: 3 },
      },
      'eval',
    );
    const brief = metrics.map((m) => [m.name, m.value, m.n, m.of ?? 'examples', m.direction, m.noisy ?? false]);
    assert.deepEqual(brief, [
      ['exactMatch', 0.5, 8, 'examples', 'higher', false], // over the 8 examples with a prompt, not all 10
      ['perplexity', 2.5, 10, 'examples', 'lower', false],
      ['kl', null, 10, 'examples', 'lower', false], // NaN is written as null, never as a number
      ['training.tokens', 300, 2, 'steps', 'lower', false],
      ['final.loss', 1.5, 180, 'tokens', 'lower', false], // 300 − 120 tokens in the last step
      ['final.forwardKl', 1, 180, 'tokens', 'lower', false],
      ['final.hiddenMse', 0.5, 180, 'tokens', 'lower', false],
      ['speedup.prefill', 1.5, 3, 'repeats', 'higher', true],
      ['speedup.decode', 1.25, 3, 'repeats', 'higher', true],
      ['decodeTokensPerSecond', null, 3, 'repeats', 'higher', true],
      ['training.wallSeconds', 4, 2, 'steps', 'lower', true],
    ]);
    assert.deepEqual(
      metrics.map((m) => m.source),
      ['eval', 'eval', 'eval', 'distill', 'distill', 'distill', 'distill', 'eval', 'eval', 'eval', 'distill'],
    );
  });
});
