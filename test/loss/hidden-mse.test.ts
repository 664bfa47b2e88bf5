import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { cloneHandle, HiddenMseLoss, textCodec, trainingStep, type LossInputs, type ModelHandle } from '@e3/plugins';
import { readFileSync } from 'node:fs';
import { e3, tempDir, writeFiles } from '../helpers/files.js';
import { tinyModel } from '../helpers/tiny-model.js';
import { useBackend } from '../helpers/tf.js';

const examples = [
  { prompt: '1+2=', answer: '3' },
  { prompt: '4+4=', answer: '8' },
];

/** loss.hiddenMse of `student` against `teacher` on two examples, through the shared training step. */
async function hiddenMse(student: ModelHandle, teacher: ModelHandle): Promise<number> {
  const lossOf = trainingStep({
    node: 'test',
    model: student,
    codec: textCodec(student, 'test'),
    loss: [new HiddenMseLoss({ weight: 1 })],
    teacher,
    promptLoss: true,
    trainHead: true,
    headChunkTokens: 0,
  });
  const step = await lossOf(examples);
  try {
    const v = step.value();
    const out = (await v.data())[0];
    v.dispose();
    return out;
  } finally {
    step.dispose();
  }
}

describe('loss.hiddenMse', () => {
  before(() => useBackend('cpu'));

  it('is the token-weighted mean over student blocks of the per-token mean squared difference', () => {
    // B = 1, T = 2, d = 2; embeddings (hidden[0]) are skipped; two student blocks.
    const blocks = [
      tf.tensor3d([
        [
          [1, 1],
          [0, 2],
        ],
      ]),
      tf.tensor3d([
        [
          [3, 0],
          [1, 1],
        ],
      ]),
    ];
    const hidden = [tf.zeros([1, 2, 2]) as tf.Tensor3D, ...blocks];
    const teacherHidden = [
      tf.tensor3d([
        [
          [0, 1],
          [0, 0],
        ],
      ]),
      tf.tensor3d([
        [
          [1, 0],
          [1, 1],
        ],
      ]),
    ] as tf.Tensor3D[];
    // block 1: token 1 (1² + 0²)/2 = 0.5, token 2 (0 + 2²)/2 = 2; block 2: token 1 (2² + 0)/2 = 2, token 2 0
    // per token (mean over blocks): [1.25, 1]; weights [3, 1] → (3·1.25 + 1)/4 = 1.1875
    const x = { hidden, teacherHidden, tokenWeights: tf.tensor2d([[3, 1]]) } as unknown as LossInputs;
    const v = new HiddenMseLoss({ weight: 1 }).compute(x).dataSync()[0];
    assert.ok(Math.abs(v - 1.1875) < 1e-6, `${v}`);
  });

  it('compares each student block with the teacher block it descends from (keptLayers), not its position', async () => {
    // Teacher block 1 adds nothing, so the student without it computes exactly the teacher's
    // states at blocks 0, 2, 3: zero when matched by origin, not when matched by position.
    const teacher = await tinyModel({ layers: 4, identity: [1] });
    const same = cloneHandle(teacher, [0, 2, 3]);
    const other = cloneHandle(teacher, [0, 1, 3]);
    try {
      assert.ok((await hiddenMse(same, teacher)) < 1e-10);
      assert.ok((await hiddenMse(other, teacher)) > 1e-3, 'dropping a working block must show in the hidden states');
    } finally {
      [same, other, teacher].forEach((h) => h.dispose());
    }
  });

  it('its gradient pulls a pruned student towards the teacher blocks', async () => {
    const teacher = await tinyModel({ layers: 4 });
    const student = cloneHandle(teacher, [0, 2, 3]);
    try {
      const before = await hiddenMse(student, teacher);
      const lossOf = trainingStep({
        node: 'test',
        model: student,
        codec: textCodec(student, 'test'),
        loss: [new HiddenMseLoss({ weight: 1 })],
        teacher,
        promptLoss: true,
        trainHead: true,
        headChunkTokens: 0,
      });
      const opt = tf.train.adam(0.01);
      for (let i = 0; i < 5; i++) {
        const step = await lossOf(examples);
        opt.minimize(() => step.value(), false, student.model.variables());
        step.dispose();
      }
      opt.dispose();
      const after = await hiddenMse(student, teacher);
      assert.ok(after < before * 0.9, `${before} → ${after}`);
    } finally {
      [student, teacher].forEach((h) => h.dispose());
    }
  });
});

describe('declared requirements (e3 validate)', function () {
  this.timeout(60000);
  const head = [
    'apiVersion: e3/v1',
    'nodes:',
    '  data: { plugin: data.arithmetic }',
    '  teacher: { plugin: model.hfCheckpoint, params: { path: models/arith-teacher } }',
    '  targets: { plugin: teacher.topkCache, in: { model: teacher.model, data: data.data } }',
  ];
  const validate = (lines: string[]) => {
    const dir = writeFiles({ 'g.yaml': [...head, ...lines].join('\n') + '\n' });
    return e3(['validate', join(dir, 'g.yaml')]);
  };

  it('refuses loss.hiddenMse in masker.search, at its file:line:col, naming the node that supplies it', () => {
    const r = validate([
      '  search:',
      '    plugin: masker.search',
      '    params:',
      '      loss: [ { component: loss.forwardKl }, { component: loss.hiddenMse } ]',
      '    in: { model: teacher.model, data: data.data, targets: targets.targets }',
    ]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /g\.yaml:9:59: node "search" field "params\.loss\.1\.component": /);
    assert.match(r.stderr, /loss\.hiddenMse needs hiddenStates, which masker\.search cannot supply /);
    assert.match(r.stderr, /\(fix: use loss\.hiddenMse in a node that supplies hiddenStates \(distiller\.train\)/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('refuses loss.hiddenMse in distiller.train without the teacher wired, and accepts it with', () => {
    const distil = (wires: string) => [
      '  student: { plugin: model.prune, params: { drop: [1] }, in: { model: teacher.model } }',
      '  distill:',
      '    plugin: distiller.train',
      '    params: { loss: [ { component: loss.hiddenMse } ] }',
      `    in: { model: student.model, targets: targets.targets, data: data.data${wires} }`,
    ];
    const bare = validate(distil(''));
    assert.equal(bare.code, 1);
    assert.match(bare.stderr, /g\.yaml:9:36: node "distill" field "params\.loss\.0\.component": /);
    assert.match(bare.stderr, /loss\.hiddenMse needs hiddenStates, /);
    assert.match(bare.stderr, /which distiller\.train supplies only from its "teacher" input, and that is not wired/);
    assert.match(bare.stderr, /\(fix: add in: \{ teacher: <node>\.<port> \} \(a Model output\)\)/);
    const wired = validate(distil(', teacher: teacher.model'));
    assert.equal(wired.code, 0, wired.stderr);
  });

  it('e3 plugins lists what components require and what nodes supply', () => {
    const r = e3(['plugins']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /loss\.hiddenMse \(loss\)[^\n]*\n {4}requires hiddenStates\n/);
    assert.match(
      r.stdout,
      /supplies labels, teacherTargets \(with targets wired\), hiddenStates \(with teacher wired\)\n/,
    );
  });

  it('refuses teacher-target terms in a node without a teacher cache', () => {
    const r = validate([
      '  train:',
      '    plugin: trainer.train',
      '    params: { loss: [ { component: loss.akl } ] }',
      '    in: { model: teacher.model, data: data.data }',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /g\.yaml:8:36: node "train" .*loss\.akl needs teacherTargets, /);
    assert.match(r.stderr, /which trainer\.train cannot supply /);
    assert.match(r.stderr, /\(fix: use loss\.akl in a node that supplies teacherTargets /);
    assert.match(r.stderr, /\(masker\.search, distiller\.train\)/);
  });
});

describe('graphs/ablations/loss-hidden-mse.yaml', function () {
  this.timeout(120000);

  it('runs through the CLI and records both terms at every logged distillation step', () => {
    const out = join(tempDir(), 'run');
    const sets = [
      'nodes.search.params.steps=5',
      'nodes.search.params.restarts=1',
      'nodes.distill.params.steps=10',
      'nodes.distill.params.evalEvery=0',
      'nodes.distill.params.logEvery=5',
      'nodes.eval.params.examples=20',
      'nodes.eval.params.speed.enabled=false',
      'nodes.targets.params.dir=' + join(out, '..', 'cache'),
    ].flatMap((s) => ['--set', s]);
    const r = e3(['run', 'graphs/ablations/loss-hidden-mse.yaml', '--out', out, '--quiet', ...sets]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const history = report.training.history as Record<string, number>[];
    assert.deepEqual(
      history.map((h) => h.step),
      [0, 5, 9],
    );
    for (const h of history) {
      assert.ok(h.hiddenMse > 0 && h.forwardKl > 0, JSON.stringify(h));
      assert.ok(Math.abs(h.loss - (h.forwardKl + 0.1 * h.hiddenMse)) < 1e-4, 'loss = forwardKl + 0.1 × hiddenMse');
    }
  });
});
