import { strict as assert } from 'node:assert';
import { e3 } from '../helpers/files.js';

const MODEL = 'models/arith-teacher';
const INT1 = 'It must be an integer ≥ 1.';
const SEED = 'It must be an integer from 0 to 4294967295.';
const POSITIVE = 'It must be a finite number > 0.';
const LIST = 'It must be a comma-separated list of integers ≥ 0 (e.g. 1,2,3).';
const BACKENDS = 'Allowed choices are auto, tensorflow, webgpu, wasm, cpu.';

/** `args` is refused as bad usage (exit 2) naming the option, the value and the rule, without a stack. */
function refuses(args: string[], flags: string, value: string, rule: string): void {
  const r = e3(args);
  assert.equal(r.code, 2, r.stderr);
  assert.ok(r.stderr.startsWith(`error: option '${flags}' argument '${value}' is invalid. ${rule}\n`), r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(r.stdout, '');
}

describe('CLI numeric options (one parser per rule)', function () {
  this.timeout(60000);
  const generate = ['generate', MODEL, '--prompt', '1+2='];

  for (const v of ['0', '-1', 'abc', '1.5', '1e3', '']) {
    it(`generate --batch-size "${v}" is refused (it used to spin, or print nothing)`, () => {
      refuses([...generate, '--batch-size', v], '--batch-size <n>', v, INT1);
    });
  }

  it('generate --max-new-tokens x, --top-k 0 and --seed -1 are refused', () => {
    refuses([...generate, '--max-new-tokens', 'x'], '--max-new-tokens <n>', 'x', INT1);
    refuses([...generate, '--temperature', '1', '--top-k', '0'], '--top-k <k>', '0', INT1);
    refuses([...generate, '--seed', '-1'], '--seed <n>', '-1', SEED);
  });

  for (const v of ['0', '-0.5', 'NaN', 'Infinity', 'hot']) {
    it(`generate --temperature "${v}" is refused`, () => {
      refuses([...generate, '--temperature', v], '--temperature <t>', v, POSITIVE);
    });
  }

  it('generate --top-k without --temperature is a user error', () => {
    const r = e3([...generate, '--top-k', '3']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'e3: --top-k only applies when sampling (fix: add --temperature, e.g. --temperature 1)\n');
  });

  it('run --seed takes 32-bit integers ≥ 0 only (larger seeds would alias smaller ones)', () => {
    refuses(['run', 'examples/stats.yaml', '--seed', '4294967299'], '--seed <n>', '4294967299', SEED);
    refuses(['run', 'examples/stats.yaml', '--seed', '-1'], '--seed <n>', '-1', SEED);
    refuses(['run', 'examples/stats.yaml', '--seed', 'seven'], '--seed <n>', 'seven', SEED);
  });

  it('model logits --ids and --mask are lists of integers ≥ 0', () => {
    refuses(['model', 'logits', MODEL, '--ids', '1,x'], '--ids <ids>', '1,x', LIST);
    refuses(['model', 'logits', MODEL, '--ids', '1', '--mask', '1,-1'], '--mask <mask>', '1,-1', LIST);
  });

  it('--backend is one of the known backends, for every command that takes it', () => {
    refuses(['model', 'info', MODEL, '--backend', 'nonsense'], '--backend <name>', 'nonsense', BACKENDS);
    refuses([...generate, '--backend', 'gpu'], '--backend <name>', 'gpu', BACKENDS);
    const prune = ['prune', '--model', MODEL, '--drop', '1', '--out', 'x'];
    refuses([...prune, '--backend', 'tpu'], '--backend <name>', 'tpu', BACKENDS);
  });

  it('prune --dtype is F32, F16, BF16 or Q8_0 (GGUF only)', () => {
    refuses(
      ['prune', '--model', MODEL, '--drop', '1', '--out', 'x', '--dtype', 'F8'],
      '--dtype <dtype>',
      'F8',
      'Allowed choices are F32, F16, BF16, Q8_0.',
    );
  });

  it('valid numbers reach the command: sampling with every numeric option set', () => {
    const args = ['--max-new-tokens', '3', '--temperature', '0.7', '--top-k', '5', '--seed', '7', '--batch-size', '1'];
    const r = e3([...generate, ...args, '--backend', 'cpu']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n').length, 2);
  });

  it('help shows numeric defaults as numbers', () => {
    const r = e3(['generate', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--batch-size <n> +prompts per batch \(default: 64\)/);
    const choices = /--backend <name> +TensorFlow\.js backend \(choices: "auto", "tensorflow",\s+"webgpu", "wasm",/;
    assert.match(r.stdout, choices);
  });
});
