import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, ROOT, tempDir, writeFiles } from '../helpers/files.js';
import { arithGraphHead, quickDistill, quickEval, validateGraphText } from '../helpers/arith-graph.js';

/**
 * Two rounds of fixed-mask pruning on the shipped teacher, a few steps each: round k drops the
 * layer at index `drop` of the model it is given, then distils briefly and reports.
 */
function twoRounds(cache: string, drop: number, extraNodes = ''): string {
  return `${arithGraphHead(cache)}  final:
    plugin: evaluator.suite
    params: { examples: 8, speed: { enabled: false } }
    in: { model: round.model, teacher: teacher.model, data: data.data, mask: round2.mask.mask }
${extraNodes}repeat:
  round:
    times: 2
    in: { model: teacher.model }
    carry: { model: distill.model }
    nodes:
      mask: { plugin: masker.fixed, params: { drop: [${drop}] }, in: { model: round.model } }
      pruned: { plugin: model.prune, in: { model: round.model, mask: mask.mask } }
      distill:
${quickDistill('        ')}      eval:
${quickEval('        ', 'model: distill.model, data: data.data, mask: mask.mask')}`;
}

describe('repeated stages (repeat:)', function () {
  this.timeout(300000);

  it('unrolls a group into rounds wired to the previous round: validate, describe and plan', () => {
    const dir = writeFiles({ 'g.yaml': twoRounds(join(tempDir(), 'cache'), 2) });
    const v = e3(['validate', join(dir, 'g.yaml')]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /round1\.mask → round1\.pruned → round1\.distill → .*round2\.mask → round2\.pruned/);
    const d = e3(['describe', join(dir, 'g.yaml')]);
    assert.equal(d.code, 0, d.stderr);
    // Round 1 reads the group's in: (the teacher), round 2 round 1's carried output, final the last round's.
    assert.match(d.stdout, /round1\.mask: masker\.fixed[^\n]*\n {2}in {2}model \(Model\) ← teacher\.model/);
    assert.match(d.stdout, /round2\.mask: masker\.fixed[^\n]*\n {2}in {2}model \(Model\) ← round1\.distill\.model/);
    assert.match(d.stdout, /final: evaluator\.suite[^\n]*\n {2}in {2}model \(Model\) ← round2\.distill\.model/);
    const p = e3(['plan', join(dir, 'g.yaml')]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /round2\.distill/);
  });

  it('a miswired group is an error located in the file, with a fix', () => {
    const text = twoRounds(join(tempDir(), 'cache'), 2)
      .replace(
        'pruned: { plugin: model.prune, in: { model: round.model,',
        'pruned: { plugin: model.prune, in: { model: round.modle,',
      )
      .replace('carry: { model: distill.model }', 'carry: { model: distil.model }');
    const dir = writeFiles({ 'g.yaml': text });
    const lines = text.split('\n');
    const line = (needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;
    const col = (needle: string, at: string) => lines[line(needle) - 1].indexOf(at) + 1;
    const r = e3(['validate', join(dir, 'g.yaml')]);
    assert.equal(r.code, 1, r.stdout);
    assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
    const wireAt = `g.yaml:${line('round.modle')}:${col('round.modle', 'round.modle')}`;
    assert.ok(
      r.stderr.includes(
        `${wireAt}: field "repeat.round.nodes.pruned.in.model": wire "round.modle" names ` +
          `port "modle" of repeat group "round", which has no such port (fix: did you mean "model"?`,
      ),
      r.stderr,
    );
    const carryAt = `g.yaml:${line('distil.model')}:${col('distil.model', 'distil.model')}`;
    assert.ok(
      r.stderr.includes(
        `${carryAt}: field "repeat.round.carry.model": carry.model reads "distil.model", but "distil" is not a node ` +
          'of repeat group "round" (fix: carry reads a node of the group: did you mean "distill"?)',
      ),
      r.stderr,
    );
  });

  it("a round's params error points at the group's node in the file", () => {
    const text = twoRounds(join(tempDir(), 'cache'), 2).replace('steps: 3, batchSize', 'steps: -2, batchSize');
    const dir = writeFiles({ 'g.yaml': text });
    const n = text.split('\n').findIndex((l) => l.includes('steps: -2')) + 1;
    const r = e3(['validate', join(dir, 'g.yaml')]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`g\\.yaml:${n}:\\d+: node "round1\\.distill" field "params\\.steps": "steps" must be >= 1`),
    );
    assert.doesNotMatch(r.stderr, /round2\.distill/); // the rounds share the node as written: said once
  });

  it('round 2 names layers as the original model does, in every report and log line; reports side by side', () => {
    const work = tempDir();
    const dir = writeFiles({ 'g.yaml': twoRounds(join(work, 'cache'), 2) });
    const out = join(work, 'run');
    const r = e3(['run', join(dir, 'g.yaml'), '--out', out, '--progress', 'none']);
    assert.equal(r.code, 0, r.stderr);
    // Round 1 drops index 2 of 8 = original layer 2; round 2 drops index 2 of the 7 kept
    // (0,1,3,4,5,6,7) = original layer 3, not 2.
    const log = readFileSync(join(out, 'run.log'), 'utf8');
    assert.match(log, /round1\.pruned: pruned 1 of 8 layers \(fixed\): removed layer 2, kept 0,1,3,4,5,6,7/);
    assert.match(
      log,
      /round2\.pruned: pruned 1 of 7 layers \(fixed; the original had 8\): removed layer 3, kept 0,1,4,5,6,7/,
    );
    const round2 = JSON.parse(readFileSync(join(out, 'reports', 'round2', 'eval', 'report.json'), 'utf8'));
    assert.deepEqual(round2.mask.layers, [0, 1, 3, 4, 5, 6, 7]);
    assert.deepEqual(round2.mask.details.removed, [3]);
    const md = readFileSync(join(out, 'reports', 'round2', 'eval', 'report.md'), 'utf8');
    assert.match(md, /^# e3-pruner report: round2\.eval/);
    assert.match(md, /Kept 6 of 7 layers; removed: 3\./);
    assert.match(md, /\| 3 \| no \|/);
    assert.doesNotMatch(md, /\| 2 \| no \|/);
    const html = readFileSync(join(out, 'reports', 'round2', 'eval', 'report.html'), 'utf8');
    assert.match(html, /removed: 3\./);
    // The final report (the run directory's own) has both rounds, in original numbers.
    const final = readFileSync(join(out, 'report.md'), 'utf8');
    assert.match(
      final,
      /keeps layers 0, 1, 4, 5, 6, 7 of the original 8: round1\.pruned removed layer 2, then round2\.pruned removed layer 3\./,
    );
    assert.ok(existsSync(join(out, 'reports', 'round1', 'eval', 'report.html')));
  });

  it('two reports with one name are a located validation error; distinct names sit side by side', () => {
    const cache = join(tempDir(), 'cache');
    const twin = `  again:
    plugin: evaluator.suite
    params: { examples: 8, name: final, speed: { enabled: false } }
    in: { model: teacher.model, data: data.data }
`;
    const { r, where } = validateGraphText(twoRounds(cache, 2, twin));
    assert.equal(r.code, 1);
    assert.ok(
      r.stderr.includes(
        `${where('name: final', 'final')}: node "again" field "params.name": report name "final" is also the name of node ` +
          `"final"'s report; one would overwrite the other's report files (fix: give node "again" another name`,
      ),
      r.stderr,
    );
  });

  it('graphs/iterative.yaml, cut to seconds: the search of round 2 reports original layer numbers', () => {
    const work = tempDir();
    const out = join(work, 'run');
    const set = (path: string, v: string | number | boolean) => ['--set', `${path}=${v}`];
    const inRound = (path: string, v: string | number) => set(`repeat.round.nodes.${path}`, v);
    const r = e3([
      'run',
      join(ROOT, 'graphs', 'iterative.yaml'),
      '--out',
      out,
      '--progress',
      'none',
      ...set('nodes.targets.params.dir', join(work, 'cache')),
      ...set('nodes.targets.params.calibration', 64),
      ...set('nodes.targets.params.heldout', 32),
      ...inRound('search.params.steps', 12),
      ...inRound('search.params.calibration', 64),
      ...inRound('distill.params.steps', 4),
      ...inRound('distill.params.evalEvery', 0),
      ...inRound('eval.params.examples', 8),
      ...set('nodes.eval.params.examples', 16),
      ...set('nodes.eval.params.speed.enabled', false),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = (round: number) =>
      JSON.parse(readFileSync(join(out, 'reports', `round${round}`, 'eval', 'report.json'), 'utf8'));
    const [one, two] = [report(1), report(2)];
    assert.deepEqual(one.mask.layers, [0, 1, 2, 3, 4, 5, 6, 7]);
    const keptAfterOne = one.mask.layers.filter((_: number, i: number) => one.mask.mask[i] === 1);
    // Round 2's mask has one entry per layer round 1 kept, named by its original number.
    assert.deepEqual(two.mask.layers, keptAfterOne);
    const removedTwo = two.mask.layers.filter((_: number, i: number) => two.mask.mask[i] === 0);
    assert.deepEqual(two.mask.details.removed, removedTwo);
    assert.equal(removedTwo.length, 1); // 12.5% of 7 layers, rounded
    const log = readFileSync(join(out, 'run.log'), 'utf8');
    assert.match(log, new RegExp(`round2\\.search: removes ${removedTwo[0]} \\(`));
    assert.match(log, new RegExp(`round2\\.pruned: pruned 1 of 7 layers [^\\n]*removed layer ${removedTwo[0]},`));
    const finalJson = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const removedOne = one.mask.details.removed[0];
    assert.deepEqual(
      finalJson.model.keptLayers,
      [0, 1, 2, 3, 4, 5, 6, 7].filter((l) => l !== removedOne && l !== removedTwo[0]),
    );
    assert.match(
      readFileSync(join(out, 'report.md'), 'utf8'),
      new RegExp(`round1\\.pruned removed layer ${removedOne}, then round2\\.pruned removed layer ${removedTwo[0]}\\.`),
    );
  });
});
