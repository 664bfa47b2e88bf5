import { strict as assert } from 'node:assert';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { byteTokenizerJson, charTokenizerConfig, charTokenizerJson, loadTokenizerFromJson } from '@e3/plugins';
import { e3, ROOT, tempDir, writeFiles } from '../helpers/files.js';
import { jsonlNode, runGraph, teacherGraph } from '../helpers/graphs.js';

/** The shipped teacher, copied, with two more tokens in tokenizer.json than config.json's vocab_size (18) allows. */
function teacherWithLargerTokenizer(): string {
  const dir = join(tempDir(), 'model');
  cpSync(join(ROOT, 'models/arith-teacher'), dir, { recursive: true });
  const tok = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  Object.assign(tok.model.vocab, { a: 18, b: 19 });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tok));
  return dir;
}

describe('tokenizer checks', function () {
  this.timeout(120000);

  it('characters the tokenizer cannot encode are an error in data, at file:line', () => {
    const lines = [
      '{"prompt": "1+1=", "answer": "2"}',
      '{"prompt": "2+2=", "answer": "4"}',
      '{"text": "1+1=2 \u00e9 3 €"}',
    ];
    const dir = writeFiles({ 'd.jsonl': lines.join('\n') });
    const cache = join(tempDir(), 'cache');
    const r = runGraph(teacherGraph(jsonlNode(join(dir, 'd.jsonl')), cache));
    assert.equal(r.code, 1);
    assert.ok(!existsSync(cache), 'a failed run leaves nothing in the teacher cache');
    assert.match(
      r.stderr,
      new RegExp(
        `node "targets" failed: ${dir}/d.jsonl:3: ` +
          "characters not in the tokenizer's vocabulary: " +
          "'é' \\(U\\+00E9\\), '€' \\(U\\+20AC\\) \\(fix: remove or replace",
      ),
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('e3 generate warns about them on stderr and exits 0', () => {
    const prompts = writeFiles({ 'p.txt': '12+34=\n1é+2=\n' });
    const r = e3(['generate', 'models/arith-teacher', '--prompts', join(prompts, 'p.txt'), '--max-new-tokens', '3']);
    assert.equal(r.code, 0, r.stderr);
    const warning =
      "warning: prompt 2: characters not in the tokenizer's vocabulary: 'é' \\(U\\+00E9\\) " + '— they become <unk>';
    assert.match(r.stderr, new RegExp(`^${warning}$`, 'm'));
    assert.doesNotMatch(r.stderr, /prompt 1:/);
    assert.equal(r.stdout.split('\n').length, 3);
  });

  it('each tokenizer kind reports unknown characters, and says what becomes of them', async () => {
    const chars = await loadTokenizerFromJson(charTokenizerJson('0123456789+= '), charTokenizerConfig());
    assert.deepEqual(chars.unknownChars('1+x=\u00a0y\tx😀'), ['x', 'y', '😀']);
    assert.equal(chars.unknownFate, 'they become <unk>');
    const noUnkJson = charTokenizerJson('0123456789', ['<pad>', '<eos>']);
    const noUnk = await loadTokenizerFromJson(noUnkJson, charTokenizerConfig());
    assert.deepEqual(noUnk.unknownChars('12a'), ['a']);
    assert.equal(noUnk.unknownFate, 'they are dropped');
    const bytes = await loadTokenizerFromJson(byteTokenizerJson(), charTokenizerConfig());
    assert.deepEqual(bytes.unknownChars('café € 😀'), []);
  });

  it('a tokenizer with ids beyond config.json vocab_size fails at load, in e3 model info, generate and run', () => {
    const dir = teacherWithLargerTokenizer();
    const message = new RegExp(
      `${dir}/tokenizer.json: token ids go up to 19, but ${dir}/config.json ` +
        'has vocab_size 18 ' +
        '\\(embedding rows 0..17\\).*fix: use the tokenizer the model was trained with',
    );
    for (const args of [
      ['model', 'info', dir],
      ['generate', dir, '--prompt', '1+1='],
    ]) {
      const r = e3(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at |GatherV2: index/);
    }
    const graph = `apiVersion: e3/v1\nnodes:\n  teacher: { plugin: model.hfCheckpoint, params: { path: "${dir}" } }\n`;
    const r = runGraph(graph);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /node "teacher" failed: .*token ids go up to 19/);
  });
});
