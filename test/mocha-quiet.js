#!/usr/bin/env node
// `npm test`: mocha with native driver chatter removed from stderr. Dawn (the webgpu suite's
// WebGPU) and Mesa's software Vulkan print warnings from C++ straight to file descriptor 2,
// which no JavaScript hook can catch; they say nothing about e3 and drowned the test output.
// Only these exact lines are dropped; everything else passes through, and the exit code is mocha's.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const DRIVER_NOISE = [
  /^Warning: max\w+ artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/,
  /^WARNING: lavapipe is not a conformant vulkan implementation, testing use only\.$/,
  /^MESA: warning: /,
];

const mocha = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');
const child = spawn(process.execPath, [mocha, ...process.argv.slice(2)], { stdio: ['inherit', 'inherit', 'pipe'] });
createInterface({ input: child.stderr }).on('line', (line) => {
  if (!DRIVER_NOISE.some((re) => re.test(line))) process.stderr.write(line + '\n');
});
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
