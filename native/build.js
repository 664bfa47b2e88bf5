#!/usr/bin/env node
// Builds native/build/e3_blas.node with g++ against Node's headers and Debian's OpenBLAS
// (apt-get install libopenblas-dev). Optional: when it cannot be built, e3 falls back to the
// wasm kernels and says so in the run log. Run by `npm ci` (postinstall) and `npm run build`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build', 'e3_blas.node');
// decoder_block.cc gets -ffast-math so its exp/sigmoid loops use glibc's vector maths (libmvec);
// its results are checked against the op-by-op cpu path to 1e-4 (test/model/fused-block.test.ts).
const units = [{ file: 'blas.cc', flags: ['-fno-math-errno'] }, { file: 'decoder_block.cc', flags: ['-ffast-math', '-fopenmp-simd'] }];
const sources = units.map((u) => join(here, u.file));
const includes = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'].filter((d) => existsSync(join(d, 'node_api.h')));
const blas = ['/usr/include/x86_64-linux-gnu/openblas-pthread', '/usr/include/aarch64-linux-gnu/openblas-pthread', '/usr/include/openblas'].filter((d) => existsSync(join(d, 'cblas.h')));
// Up to date when newer than every source and than this script (which holds the flags).
if (existsSync(out) && [...sources, fileURLToPath(import.meta.url)].every((f) => statSync(out).mtimeMs > statSync(f).mtimeMs)) process.exit(0);
if (!includes.length || !blas.length) {
  console.warn(`e3: native BLAS kernels not built (${!includes.length ? "Node's headers" : 'OpenBLAS headers (apt-get install libopenblas-dev)'} missing); the wasm backend's own kernels will be used`);
  process.exit(0);
}
mkdirSync(dirname(out), { recursive: true });
try {
  const objects = units.map((u) => {
    const obj = join(here, 'build', u.file.replace(/\.cc$/, '.o'));
    execFileSync('g++', ['-O3', '-march=native', '-fPIC', ...u.flags, '-DNODE_GYP_MODULE_NAME=e3_blas', `-I${includes[0]}`, `-I${blas[0]}`, '-c', join(here, u.file), '-o', obj], { stdio: 'inherit' });
    return obj;
  });
  execFileSync('g++', ['-shared', ...objects, '-o', out, '-lopenblas', '-lm'], { stdio: 'inherit' });
  console.log(`e3: built ${out}`);
} catch {
  console.warn('e3: native BLAS kernels failed to build; the wasm backend\'s own kernels will be used');
}
