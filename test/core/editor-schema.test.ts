import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { e3, ROOT, writeFiles } from '../helpers/files.js';

/** Every graph the repository ships: graphs/** (overlays included), examples/, bench/. */
function shippedGraphs(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.yaml') ? [join(dir, e.name)] : []))
      .filter((f) => !/^kind:\s*Sweep\s*$/m.test(readFileSync(f, 'utf8'))); // sweep files: sweep.schema.json
  return [
    ...walk(join(ROOT, 'graphs')),
    ...walk(join(ROOT, 'examples')).filter((f) => !f.includes('/dist/')),
    join(ROOT, 'bench', 'recovery.yaml'),
  ];
}

describe('schemas/graph.schema.json for editors', () => {
  const schemaFile = join(ROOT, 'schemas', 'graph.schema.json');
  const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(schemaFile, 'utf8')));
  const errors = () => (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join('; ');

  it('every shipped graph, overlays included, starts with a yaml-language-server modeline and validates', () => {
    const files = shippedGraphs();
    assert.ok(files.length >= 20, `${files.length} graphs`);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const m = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
      assert.ok(m, `${relative(ROOT, f)} has the modeline`);
      assert.equal(resolve(dirname(f), m[1]), schemaFile, relative(ROOT, f));
      assert.ok(validate(parse(text)), `${relative(ROOT, f)}: ${errors()}`);
    }
  });

  it("checks each plugin's params and each component's params (if/then on plugin and component)", () => {
    const graph = (params: unknown) => ({
      apiVersion: 'e3/v1',
      nodes: { search: { plugin: 'masker.search', params } },
    });
    assert.ok(
      validate(graph({ steps: 10, sampler: { component: 'sampler.gumbelTopk', noise: { from: 1, to: 0.1 } } })),
      errors(),
    );
    assert.ok(validate(graph({ steps: '${vars.steps}' })), `references are allowed: ${errors()}`);
    assert.ok(!validate(graph({ stepz: 10 })), 'a misspelt param');
    assert.ok(!validate(graph({ steps: 'ten' })), 'a param of the wrong type');
    assert.ok(!validate(graph({ sampler: { component: 'sampler.gumbelTopkk' } })), 'an unknown component');
    assert.ok(
      !validate(graph({ sampler: { component: 'sampler.gumbelTopk', nosie: {} } })),
      'a misspelt component param',
    );
    assert.ok(!validate({ apiVersion: 'e3/v1', nodes: { x: { plugin: 'masker.serch' } } }), 'an unknown plugin key');
    assert.ok(validate({ extends: 'base.yaml', set: { 'nodes.search.params.steps': 3 } }), `an overlay: ${errors()}`);
  });

  it('lets an overlay delete a node, a wire, a param with null (as e3 validate does), and only an overlay', () => {
    const deletions = {
      export: null,
      eval: { in: { search: null } },
      distill: {
        in: { teacher: null },
        params: { warmupSteps: null, weighting: { component: 'weighting.teacherEntropy', beta: null } },
      },
    };
    const overlay = { extends: join(ROOT, 'graphs', 'quickstart.yaml'), nodes: deletions };
    assert.ok(validate(overlay), errors());
    const dir = writeFiles({ 'overlay.yaml': JSON.stringify(overlay, null, 2) + '\n' });
    const r = e3(['validate', '--json', join(dir, 'overlay.yaml')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const nodes = JSON.parse(r.stdout).nodes as string[];
    assert.ok(!nodes.includes('export') && nodes.includes('eval'), 'the loader deleted the node too');
    const own = { apiVersion: 'e3/v1', nodes: { eval: { plugin: 'evaluator.suite', in: { search: null } } } };
    assert.ok(!validate(own), 'a graph that extends nothing has nothing to delete');
    assert.match(errors(), /\/nodes\/eval\/in\/search must NOT be valid/);
    const item = { extends: 'base.yaml', nodes: { distill: { plugin: 'distiller.train', params: { loss: [null] } } } };
    assert.ok(!validate(item), 'an array is replaced whole: a null item is not a deletion');
    const misspelt = { extends: 'base.yaml', nodes: { search: { plugin: 'masker.search', params: { stepz: null } } } };
    assert.ok(!validate(misspelt), 'a misspelt param');
  });
});
