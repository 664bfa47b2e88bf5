import { strict as assert } from 'node:assert';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { renderBounded, TemplateBoundError } from '@e3/plugins';
import { e3, ROOT, tempDir } from '../helpers/files.js';
import { jsonlNode, runGraph, teacherGraph } from '../helpers/graphs.js';
import { jsonlFile } from '../helpers/jsonl-data.js';

/** A copy of the shipped teacher whose tokenizer_config.json carries `template`. */
function teacherWithTemplate(template: string): string {
  const dir = join(tempDir(), 'teacher');
  cpSync(join(ROOT, 'models', 'arith-teacher'), dir, { recursive: true });
  const file = join(dir, 'tokenizer_config.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), chat_template: template }));
  return dir;
}

/** `n` arithmetic conversations the teacher's tokenizer encodes (digits, +, =). */
const chats = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    messages: [
      { role: 'user', content: `${i % 10}+1=` },
      { role: 'assistant', content: String((i % 10) + 1) },
    ],
  }));

/** A template that renders the user's turns and generation prompt, and drops the assistant's. */
const DROPS_ASSISTANT = "{% for m in messages %}{% if m.role == 'user' %}{{ m.content }}{% endif %}{% endfor %}";
/** A template that renders every message's content. */
const PLAIN = '{% for m in messages %}{{ m.content }}{% endfor %}';

/** `e3 run` and `e3 validate` of a graph whose data node reads `path` with the checkpoint `ckpt`. */
function runAndValidate(path: string, ckpt: string) {
  const graph = teacherGraph(jsonlNode(path, `tokenizer: "${ckpt}"`), join(tempDir(), 'cache'));
  const run = runGraph(graph);
  const file = join(tempDir(), 'g.yaml');
  writeFileSync(file, graph);
  return { run, validate: e3(['validate', file]), file };
}

describe('data.jsonl: chat templates checked per record', function () {
  this.timeout(120000);

  it('a template that drops the assistant turn: an error naming file:line and the template, at validate and run', () => {
    const ckpt = teacherWithTemplate(DROPS_ASSISTANT);
    const path = jsonlFile(chats(30));
    const { run, validate, file } = runAndValidate(path, ckpt);
    const message =
      `${path}:1: the chat template in ${ckpt}/tokenizer_config.json renders nothing for the assistant's answer ` +
      `\\(content "1"\\): it drops the assistant's turn`;
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`node "data" failed: ${message}.*\\(fix: use the model's own chat template`));
    assert.equal(validate.code, 1, validate.stderr);
    assert.match(validate.stderr, new RegExp(`${file}:\\d+:\\d+: node "data" field "params.path": ${message}`));
    assert.doesNotMatch(run.stderr + validate.stderr, /\n\s+at /);
  });

  it('an assistant message with no content is an error of its own (the template is not to blame)', () => {
    const records = chats(30);
    records[4].messages[1].content = ' ';
    const path = jsonlFile(records);
    const { run } = runAndValidate(path, teacherWithTemplate(PLAIN));
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`${path}:5: the assistant's answer \\(the last message\\) is empty`));
  });

  it('the same records with a template that renders the answer run', () => {
    const { run, validate } = runAndValidate(jsonlFile(chats(30)), teacherWithTemplate(PLAIN));
    assert.equal(validate.code, 0, validate.stderr);
    assert.equal(run.code, 0, run.stderr);
  });

  it('a pathological template (a loop over range(3000000)) is stopped within seconds, naming record and template', () => {
    const ckpt = teacherWithTemplate('{% for i in range(3000000) %}{{ messages[0].content }}{% endfor %}');
    const path = jsonlFile(chats(30));
    const t0 = performance.now();
    const { run } = runAndValidate(path, ckpt);
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `node "data" failed: ${path}:1: the chat template in ${ckpt}/tokenizer_config.json was stopped rendering ` +
          'this record: range\\(\\) of 3000000 numbers, more than the 252000 steps a rendering may take \\(fix: ',
      ),
    );
    assert.ok(seconds < 60, `run and validate took ${seconds.toFixed(1)} s`);
  });

  it('a loop within the range bound but past the step bound, and a string that doubles, are stopped too', () => {
    const loop = teacherWithTemplate('{% for i in range(200000) %}{% for m in messages %}.{% endfor %}{% endfor %}');
    const path = jsonlFile(chats(30));
    const r = runGraph(teacherGraph(jsonlNode(path, `tokenizer: "${loop}"`), join(tempDir(), 'cache')));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${path}:1: .*stopped rendering this record: more than 252000 evaluation steps`));
    const doubling = teacherWithTemplate(
      '{% set ns = namespace(s=messages[0].content) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}' +
        '{% endfor %}{{ ns.s }}',
    );
    const d = runGraph(teacherGraph(jsonlNode(path, `tokenizer: "${doubling}"`), join(tempDir(), 'cache')));
    assert.equal(d.code, 1, d.stderr);
    // "0+1=" doubled past 4 Mi + 8 × 5 content characters (4 194 344): 4 × 2^21 = 8 388 608.
    assert.match(d.stderr, /stopped rendering this record: a string of 8388608 characters, more than 4194344 /);
  });

  it("renders as the library's Template.render does, its globals included", () => {
    const bounds = { steps: 1_000, chars: 1_000_000, seconds: 10 };
    const items = { messages: [{ role: 'user', content: 'hi' }], add_generation_prompt: true };
    const source =
      '{{ strftime_now("%Y") }}|{{ range(3)|join(",") }}|{{ range(1, 7, 2)|join(",") }}|' +
      '{{ range(5, 0, -2)|join(",") }}|{{ True }}{{ false }}{{ none is none }}|{% for m in messages %}' +
      '{{ m.role }}:{{ m.content }}{% endfor %}{% if add_generation_prompt %}>{% endif %}';
    const t = new Template(source);
    const ours = renderBounded(t, items, bounds);
    assert.equal(ours, t.render(items));
    assert.equal(ours.split('|')[1], '0,1,2');
    assert.throws(
      () => renderBounded(new Template('{{ raise_exception("no tools") }}'), items, bounds),
      /^Error: no tools/,
    );
    assert.throws(
      () => renderBounded(new Template('{% for i in range(900) %}{{ i }}{{ i }}{% endfor %}'), items, bounds),
      (e: unknown) => e instanceof TemplateBoundError && /more than 1000 evaluation steps/.test(e.message),
    );
  });
});
