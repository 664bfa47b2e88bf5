import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, ROOT, tempDir } from '../helpers/files.js';

const FIXTURE = join(ROOT, 'test/fixtures/tiny-llama');
const MODEL_DIR_FIX = 'give a Hugging Face model directory, one that holds config.json and model.safetensors';
const CHECKPOINT_FIX = 'a checkpoint holds its config, weights and tokenizer as files; restore or re-export it';

/** A user error (exit 1, no stack trace) whose message is exactly `message`. */
function userError(args: string[], message: string): void {
  const r = e3([...args, '--backend', 'cpu']);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => !l.startsWith('[info]') && l !== '');
  assert.deepEqual(lines, [`e3: ${message}`]);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

/** A copy of the tiny-llama fixture in which `name` is replaced by an empty directory. */
function checkpointWithDirectory(name: string): string {
  const dir = join(tempDir(), 'ckpt');
  mkdirSync(dir);
  for (const f of ['config.json', 'model.safetensors']) if (f !== name) copyFileSync(join(FIXTURE, f), join(dir, f));
  mkdirSync(join(dir, name));
  return dir;
}

describe('bad checkpoint paths (CLI)', function () {
  this.timeout(60000);

  it('a missing model directory, for model info and prune --model', () => {
    const dir = join(tempDir(), 'nope');
    userError(['model', 'info', dir], `${dir}: model directory not found (fix: ${MODEL_DIR_FIX})`);
    const prune = ['prune', '--model', dir, '--drop', '0', '--out', join(dir, 'out')];
    userError(prune, `${dir}: model directory not found (fix: ${MODEL_DIR_FIX})`);
  });

  it('a file given as the model directory', () => {
    const file = join(tempDir(), 'model.bin');
    writeFileSync(file, 'x');
    userError(['model', 'info', file], `${file}: model directory is a file, not a directory (fix: ${MODEL_DIR_FIX})`);
  });

  it('a symlink loop says "symlink loop", not "not found"', () => {
    const loop = join(tempDir(), 'loop');
    symlinkSync(loop, loop);
    const fix = `fix or remove the symlink; ls -l ${loop} shows where it points`;
    userError(['model', 'info', loop], `${loop}: model directory cannot be opened: symlink loop (fix: ${fix})`);
  });

  it('model.safetensors that is a directory', () => {
    const dir = checkpointWithDirectory('model.safetensors');
    const file = join(dir, 'model.safetensors');
    userError(['model', 'info', dir], `${file}: model.safetensors is a directory, not a file (fix: ${CHECKPOINT_FIX})`);
  });

  it('config.json that is a directory', () => {
    const dir = checkpointWithDirectory('config.json');
    const file = join(dir, 'config.json');
    userError(['model', 'info', dir], `${file}: config.json is a directory, not a file (fix: ${MODEL_DIR_FIX})`);
  });

  it('a directory without config.json', () => {
    const dir = tempDir();
    userError(['model', 'info', dir], `${join(dir, 'config.json')}: config.json not found (fix: ${MODEL_DIR_FIX})`);
  });

  it('e3 generate --prompts that is a directory or missing', () => {
    const dir = tempDir();
    const model = join(ROOT, 'models/arith-teacher');
    const fix = 'check the path; relative paths start at the working directory';
    const notFile = 'is a directory, not a file (fix: give the path of a file)';
    userError(['generate', model, '--prompts', dir], `${dir}: --prompts file ${notFile}`);
    const missing = join(dir, 'prompts.txt');
    userError(['generate', model, '--prompts', missing], `${missing}: --prompts file not found (fix: ${fix})`);
  });
});
