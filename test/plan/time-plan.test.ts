import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  forwardWork,
  modelShape,
  parseDecoderConfig,
  phaseSeconds,
  ratesKey,
  staleBecause,
  stepWork,
  type MachineRates,
} from '@e3/plugins';
import { choosePrecision, loadAddon } from '@e3/native';
import { e3, tempDir } from '../helpers/files.js';

/** d = 8, 2 heads of 4 (1 KV head), MLP 16, vocabulary 10, 2 layers: small enough to count by hand. */
const TINY = modelShape(
  parseDecoderConfig(
    {
      model_type: 'llama',
      hidden_size: 8,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      intermediate_size: 16,
      vocab_size: 10,
      num_hidden_layers: 2,
    },
    'tiny',
  ),
  'tiny',
);

const RATES: MachineRates = {
  key: 'by hand',
  matmul: { 8: 1e9 },
  callSeconds: 1e-5,
  copyBytesPerSecond: 1e9,
  convertBytesPerSecond: 1e9,
  updateValuesPerSecond: 1e8,
  measuredAt: 'now',
};

describe('time plan', function () {
  this.timeout(120000);

  it('counts a forward pass by hand: projections, attention over T, the head, and the kernel calls', () => {
    // Per token and block: 2·(8·(2·8 + 2·4) + 3·8·16) = 1152 for the projections, 4·T·8 = 160 for
    // QKᵀ and PV at T = 5; the head 2·8·10 = 160. 10 tokens, 2 blocks: 10·(2·1312 + 160) = 27,840.
    const f = forwardWork(TINY, 'forward', { tokens: 10, T: 5, fused: true, batches: 1 });
    assert.equal(f.flops, 27840);
    // A fused block is 4 calls, 12 outside the blocks: 2·4 + 12.
    assert.equal(f.calls, 20);
    // 27,840 FLOPs at 1 GFLOP/s + 20 calls of 10 µs.
    assert.ok(Math.abs(phaseSeconds(f, RATES) - (27840e-9 + 20e-5)) < 1e-15);
  });

  it('a training step is the forward three times and the head once more; four times with recomputation', () => {
    const base = { tokens: 10, T: 5, fused: true, batches: 1, trained: 100 };
    const train = stepWork(TINY, 'steps', { ...base, weightGradients: true, recompute: false }, 3);
    // The head's logits are computed again in the backward pass: 10 tokens · 160 more per step.
    assert.equal(train.flops, 3 * (3 * 27840 + 10 * 160));
    // AdamW updates the 100 trained parameters once a step, priced at the measured update rate.
    assert.equal(train.updates, 3 * 100);
    assert.ok(Math.abs(phaseSeconds(train, RATES) - (train.flops * 1e-9 + train.calls * 1e-5 + 300 / 1e8)) < 1e-15);
    const search = stepWork(TINY, 'steps', { ...base, weightGradients: false, recompute: true }, 1);
    assert.equal(search.flops, 3 * 27840);
  });

  it('matmul rates are measured and kept per precision (bf16 products have their own rate)', () => {
    assert.notEqual(
      ratesKey('wasm', { name: 'wasm', precision: 'bf16' }),
      ratesKey('wasm', { name: 'wasm', precision: 'f32' }),
    );
    assert.equal(ratesKey('wasm', { name: 'wasm', precision: 'f32' }).includes('precision'), false);
    const env = { E3_RATES_FILE: join(tempDir(), 'rates.json') };
    const plan = (precision: string) =>
      JSON.parse(
        e3(['plan', 'graphs/quickstart.yaml', '--set', 'backend=wasm', '--json'], {
          env: { ...env, E3_PRECISION: precision },
        }).stdout,
      )['time plan'].rates as MachineRates;
    const [f32, bf16] = [plan('f32'), plan('bf16')];
    assert.equal(f32.precision, 'f32');
    assert.equal(bf16.precision, choosePrecision('bf16', loadAddon()).used);
    assert.notEqual(f32.key, bf16.key);
  });

  it('kept rates are measured again when old, or when measured on a busy machine that is now quieter', () => {
    const now = Date.parse('2026-12-03T12:00:00Z');
    const at = (days: number, loadPerCore?: number) =>
      ({ measuredAt: new Date(now - days * 86_400_000).toISOString(), loadPerCore }) as MachineRates;
    assert.equal(staleBecause(at(29), now, 0.2), undefined);
    assert.equal(staleBecause(at(31), now, 0.2), 'measured 31 days ago');
    assert.equal(staleBecause(at(1, 0.5), now, 0.0), undefined, 'a quiet measurement stays');
    assert.equal(staleBecause(at(1, 3.0), now, 2.6), undefined, 'still as busy: no better figure to get');
    assert.equal(staleBecause(at(1, 3.0), now, 0.4), 'measured at a load of 3.0 per core, now 0.4');
    assert.equal(staleBecause(at(1), now, 0.0), undefined, 'rates kept before loads were recorded stay');
  });

  it('e3 plan --json has a time plan: seconds per node, the rates it used, unknown for a plugin without estimator', () => {
    const rates = join(tempDir(), 'rates.json');
    const env = { E3_RATES_FILE: rates };
    const r = e3(['plan', 'graphs/quickstart.yaml', '--set', 'backend=wasm', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const t = JSON.parse(r.stdout)['time plan'];
    assert.equal(t.backend, 'wasm');
    assert.ok(t.rates.callSeconds > 0 && Object.values(t.rates.matmul).every((v) => (v as number) > 0));
    for (const id of ['teacher', 'targets', 'search', 'pruned', 'distill', 'eval', 'export']) {
      const n = t.nodes.find((x: { id: string }) => x.id === id);
      assert.ok(typeof n.seconds === 'number' && n.seconds >= 0, `${id}: ${JSON.stringify(n)}`);
    }
    const search = t.nodes.find((x: { id: string }) => x.id === 'search');
    assert.deepEqual(
      search.phases.map((p: { what: string }) => p.what),
      ['initial scores', 'gradient steps', 'candidates', 'refinement'],
    );
    // The text form: the table, the total and the rates; a second plan reuses the kept rates.
    const text = e3(['plan', 'graphs/quickstart.yaml', '--set', 'backend=wasm'], { env });
    assert.match(text.stdout, /time plan\n/);
    assert.match(text.stdout, /total: about .* on backend wasm/);
    assert.match(text.stdout, new RegExp(`rates \\(measured ${t.rates.measuredAt}\\)`));

    // A plugin from outside the repository that declares no estimators: "unknown", in both plans.
    const custom = JSON.parse(e3(['plan', 'examples/stats.yaml', '--json'], { env }).stdout);
    const unknown = custom['time plan'].nodes.filter((n: { seconds: number | null }) => n.seconds === null);
    assert.ok(unknown.length >= 1, JSON.stringify(custom['time plan'].nodes));
    assert.match(unknown[0].note, /unknown: the plugin declares no time estimator/);
    const memory = custom['memory plan'].nodes.find((n: { id: string }) => n.id === unknown[0].id);
    assert.match(memory.note, /unknown: plugin .* declares no memory estimator/);
  });

  it('answers only prompted records: plain-text data has no answer generation in the evaluator estimate', () => {
    const dir = tempDir();
    const lines = (r: object) => Array.from({ length: 40 }, () => JSON.stringify(r)).join('\n') + '\n';
    writeFileSync(join(dir, 'text.jsonl'), lines({ text: '12+34=46' }));
    writeFileSync(join(dir, 'qa.jsonl'), lines({ prompt: '12+34=', answer: '46' }));
    const evalPhases = (file: string) => {
      const r = e3(
        ['plan', 'graphs/quickstart.yaml', '--set', 'backend=wasm', '--json'].concat([
          '--set',
          'nodes.data.plugin=data.jsonl',
          '--set',
          `nodes.data.params.path=${join(dir, file)}`,
        ]),
        { env: { E3_RATES_FILE: join(dir, 'rates.json') } },
      );
      assert.equal(r.code, 0, r.stderr);
      const n = JSON.parse(r.stdout)['time plan'].nodes.find((x: { id: string }) => x.id === 'eval');
      return n.phases.map((p: { what: string }) => p.what).filter((w: string) => /answers/.test(w));
    };
    assert.deepEqual(evalPhases('text.jsonl'), []);
    assert.deepEqual(evalPhases('qa.jsonl'), [
      'model answers: prefill',
      'model answers: decoding',
      'teacher answers: prefill',
      'teacher answers: decoding',
    ]);
  });
});
