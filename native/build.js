#!/usr/bin/env node
// Builds native/build/e3_kernels.node (sgemm, fused decoder blocks, AdamW; see src/addon.ts) with g++ against Node's headers and Debian's OpenBLAS
// (apt-get install libopenblas-dev g++), and Debian's oneDNN where it is installed (libdnnl-dev: the
// bf16 matrix products, cc/onednn_matmul.cc; without it every product runs in f32 and e3 says so).
// When those are missing and this runs as root on a Debian-like system, it installs them with apt-get (E3_NO_APT=1 stops that), so that README's
// `npm ci` sets up the fast path on a fresh machine. Optional: when it cannot be built, e3 falls
// back to the wasm kernels and says so here and in the run log. Run by `npm ci` (postinstall)
// and `npm run build`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build', 'e3_kernels.node');
// The decoder block's files (decoder_block.cc and its block_*.cc kernels) get -ffast-math so their
// exp/sigmoid loops use glibc's vector maths (libmvec); their
// results are checked against the op-by-op cpu path to 1e-4 (test/model/fused-block.test.ts).
const units = [
  { file: 'blas.cc', flags: ['-fno-math-errno'] },
  { file: 'decoder_block.cc', flags: ['-ffast-math', '-fopenmp-simd'] },
  { file: 'block_elementwise.cc', flags: ['-ffast-math', '-fopenmp-simd'] },
  { file: 'block_attention.cc', flags: ['-ffast-math', '-fopenmp-simd'] },
  { file: 'block_threads.cc', flags: [] },
  { file: 'head_rows.cc', flags: ['-ffast-math', '-fopenmp-simd'] },
  { file: 'gemm.cc', flags: ['-fno-math-errno', '-fopenmp-simd'] },
];
// oneDNN's headers (libdnnl-dev): with them the bf16 products are built in, else a stand-in says "absent".
// E3_NO_ONEDNN=1 builds without it even where it is installed (to check the f32-only build).
const findDnnl = () =>
  process.env.E3_NO_ONEDNN === '1'
    ? []
    : ['/usr/include/oneapi/dnnl', '/usr/include'].filter((d) => existsSync(join(d, 'dnnl.hpp')));
const dnnlUnit = { file: 'onednn_matmul.cc', flags: ['-fopenmp'] };
const allSources = [
  'onednn_matmul.cc',
  'no_onednn.cc',
  'args.h',
  'gemm.h',
  'block_layout.h',
  'block_threads.h',
  'block_elementwise.h',
  'block_attention.h',
];
const sources = [...units.map((u) => join(here, 'cc', u.file)), ...allSources.map((f) => join(here, 'cc', f))];
const includes = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'].filter((d) =>
  existsSync(join(d, 'node_api.h')),
);
const findBlas = () =>
  [
    '/usr/include/x86_64-linux-gnu/openblas-pthread',
    '/usr/include/aarch64-linux-gnu/openblas-pthread',
    '/usr/include/openblas',
  ].filter((d) => existsSync(join(d, 'cblas.h')));
const hasCompiler = () => {
  try {
    execFileSync('g++', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
// Up to date when newer than every source and than this script (which holds the flags), and built
// with oneDNN exactly when it is to be now (build/with-onednn records what the last build linked).
const withDnnlStamp = join(here, 'build', 'with-onednn');
const linkedDnnl = () => (existsSync(withDnnlStamp) ? readFileSync(withDnnlStamp, 'utf8').trim() === 'yes' : false);
if (
  existsSync(out) &&
  linkedDnnl() === findDnnl().length > 0 &&
  [...sources, fileURLToPath(import.meta.url)].every((f) => statSync(out).mtimeMs > statSync(f).mtimeMs)
)
  process.exit(0);
if (
  (!findBlas().length || !hasCompiler()) &&
  process.getuid?.() === 0 &&
  process.env.E3_NO_APT !== '1' &&
  existsSync('/usr/bin/apt-get')
) {
  console.log(
    "e3: installing the native kernels' build dependencies: apt-get install libopenblas-dev g++ (E3_NO_APT=1 skips this)",
  );
  try {
    execFileSync(
      'bash',
      [
        '-c',
        'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev g++ >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev g++)',
      ],
      { stdio: 'inherit', timeout: 600000 },
    );
  } catch {
    console.warn('e3: apt-get could not install libopenblas-dev g++');
  }
}
if (
  !findDnnl().length &&
  process.env.E3_NO_ONEDNN !== '1' &&
  process.getuid?.() === 0 &&
  process.env.E3_NO_APT !== '1' &&
  existsSync('/usr/bin/apt-get')
) {
  console.log('e3: installing oneDNN for the bf16 products: apt-get install libdnnl-dev (E3_NO_APT=1 skips this)');
  try {
    execFileSync('bash', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libdnnl-dev >/dev/null 2>&1'], {
      stdio: 'inherit',
      timeout: 600000,
    });
  } catch {
    console.warn('e3: apt-get could not install libdnnl-dev; the products run in f32');
  }
}
const blas = findBlas();
if (!includes.length || !blas.length || !hasCompiler()) {
  const missing = !includes.length
    ? "Node's headers"
    : !blas.length
      ? 'OpenBLAS headers (apt-get install libopenblas-dev)'
      : 'g++ (apt-get install g++)';
  console.warn(
    `e3: native kernels not built (${missing} missing); e3 will run on the wasm backend's own kernels, much slower`,
  );
  rmSync(out, { force: true }); // an older build must not stand in for this version's
  process.exit(0);
}
mkdirSync(dirname(out), { recursive: true });
const dnnl = findDnnl();
if (!dnnl.length) {
  const why =
    process.env.E3_NO_ONEDNN === '1' ? 'left out (E3_NO_ONEDNN=1)' : 'headers missing (apt-get install libdnnl-dev)';
  console.warn(`e3: oneDNN ${why}: matrix products run in f32 only (no bf16)`);
}
try {
  const withDnnl = dnnl.length ? [dnnlUnit] : [{ file: 'no_onednn.cc', flags: [] }];
  const objects = [...units, ...withDnnl].map((u) => {
    const obj = join(here, 'build', u.file.replace(/\.cc$/, '.o'));
    execFileSync(
      'g++',
      [
        '-O3',
        '-march=native',
        '-fPIC',
        ...u.flags,
        '-DNODE_GYP_MODULE_NAME=e3_kernels',
        `-I${includes[0]}`,
        `-I${blas[0]}`,
        ...(dnnl.length && u === dnnlUnit ? [`-I${dnnl[0]}`] : []),
        '-c',
        join(here, 'cc', u.file),
        '-o',
        obj,
      ],
      { stdio: 'inherit' },
    );
    return obj;
  });
  const libs = dnnl.length ? ['-ldnnl', '-fopenmp'] : [];
  execFileSync('g++', ['-shared', ...objects, '-o', out, '-lopenblas', ...libs, '-lm'], { stdio: 'inherit' });
  writeFileSync(withDnnlStamp, dnnl.length ? 'yes\n' : 'no\n');
  console.log(`e3: built ${out}${dnnl.length ? ' (with oneDNN: bf16 products)' : ''}`);
} catch (e) {
  const why = e.signal ? `g++ was killed (${e.signal})` : String(e.message).split('\n')[0];
  console.warn(
    `e3: native kernels failed to build (${why}); e3 will run on the wasm backend's own kernels, much slower`,
  );
  rmSync(out, { force: true });
}
