import { strict as assert } from 'node:assert';
import { cpSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, ROOT, tempDir, writeFiles } from '../helpers/files.js';
import { headerOnlyCheckpoint } from '../helpers/large-checkpoint.js';

/** A copy of the shipped teacher, damaged by `damage(dir)`. */
function damagedTeacher(damage: (dir: string) => void): string {
  const dir = join(tempDir(), 'teacher');
  cpSync(join(ROOT, 'models', 'arith-teacher'), dir, { recursive: true });
  damage(dir);
  return dir;
}

/** A graph reading the checkpoint `model` (node "teacher", its path on line 5). */
function graphOn(model: string): string {
  const yaml = [
    'apiVersion: e3/v1',
    'seed: 0',
    'nodes:',
    '  data: { plugin: data.arithmetic, params: { maxOperand: 9, heldoutFraction: 0.2 } }',
    `  teacher: { plugin: model.hfCheckpoint, params: { path: "${model}" } }`,
    '  eval: { plugin: evaluator.suite, params: { examples: 20 }, in: { model: teacher.model, data: data.data } }',
  ].join('\n');
  return join(writeFiles({ 'g.yaml': yaml + '\n' }), 'g.yaml');
}

const editJson = (file: string, edit: (v: Record<string, unknown>) => void) => {
  const v = JSON.parse(readFileSync(file, 'utf8'));
  edit(v);
  writeFileSync(file, JSON.stringify(v));
};

const DAMAGES: [string, (dir: string) => void, RegExp][] = [
  [
    'a truncated model.safetensors',
    (d) => truncateSync(join(d, 'model.safetensors'), 20000),
    /model\.safetensors: tensor "[^"]+": data ends at byte \d+ but the file holds \d+ data bytes \(truncated\?\)/,
  ],
  [
    'shapes that do not match config.json',
    (d) => editJson(join(d, 'config.json'), (c) => (c.intermediate_size = 96)),
    /checkpoint does not match config\.json:\s+.*tensor "model\.layers\.0\.mlp\.\w+_proj\.weight" has shape/,
  ],
  [
    'missing tensors (config.json names more layers)',
    (d) => editJson(join(d, 'config.json'), (c) => (c.num_hidden_layers = 9)),
    /missing tensor "model\.layers\.8\./,
  ],
  [
    'a config.json that is not JSON',
    (d) => writeFileSync(join(d, 'config.json'), '{"model_type": "qwen3",'),
    /config\.json: not valid JSON/,
  ],
  [
    'a tokenizer_config.json that is not JSON',
    (d) => writeFileSync(join(d, 'tokenizer_config.json'), '{'),
    /tokenizer_config\.json: not valid JSON/,
  ],
];

describe('e3 validate and e3 plan read every input a run would read', function () {
  this.timeout(120000);

  for (const [what, damage, message] of DAMAGES) {
    it(`a checkpoint with ${what} fails validate and plan, located at the node's params.path`, () => {
      const graph = graphOn(damagedTeacher(damage));
      const at = new RegExp(`${graph}:5:\\d+: node "teacher" field "params\\.path": .*`);
      const v = e3(['validate', graph]);
      assert.equal(v.code, 1, v.stdout + v.stderr);
      assert.match(v.stderr, at);
      assert.match(v.stderr, message);
      assert.match(v.stderr, /fix: /);
      assert.doesNotMatch(v.stderr, /\n\s+at /);
      const p = e3(['plan', graph]);
      assert.equal(p.code, 1, p.stdout + p.stderr);
      assert.match(p.stdout, /inputs\nnode "teacher": cannot be read: /);
      assert.match(p.stderr, at);
      assert.match(p.stderr, message);
    });
  }

  it('the intact checkpoint passes, and the plan says what it read', () => {
    const graph = graphOn(join(ROOT, 'models', 'arith-teacher'));
    assert.equal(e3(['validate', graph]).code, 0);
    const p = e3(['plan', graph]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /node "teacher": checkpoint .*arith-teacher: 8 layers, 395712 parameters, F32/);
  });

  it('a plan that does not fit prints its reasons, not only "see the errors"', () => {
    const sets = ['--set', `vars.teacher=${headerOnlyCheckpoint()}`, '--set', 'backend=wasm'];
    const p = e3(['plan', 'graphs/e3-pruner.yaml', ...sets]);
    assert.equal(p.code, 1, p.stderr);
    assert.match(p.stdout, /does not fit: node "distill".*\(see the errors\)/);
    assert.match(
      p.stderr,
      /e3-pruner\.yaml:\d+:\d+: node "distill": at its peak needs about [\d.]+ GiB of tensors, more than backend wasm/,
    );
    assert.match(p.stderr, /fix: .*backend: cpu/);
    const json = e3(['plan', 'graphs/e3-pruner.yaml', ...sets, '--json']);
    assert.equal(json.code, 1);
    assert.ok(JSON.parse(json.stdout)['memory plan'].problems.length > 0);
  });
});
