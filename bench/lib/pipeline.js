// Runs graphs and evaluates masks for the benchmarks, through the same code paths as `e3 run`.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import { runGraph } from '@e3/core';
import { builtinModules, exactMatch, heldoutLikelihood, cloneHandle } from '@e3/plugins';
import { ROOT } from './table.js';

export const TEACHER = process.env.E3_TEACHER ?? join(ROOT, 'models/arith-teacher');

/** Runs a graph file with --set overrides; returns the last values of its ports and the wall time. */
let runs = 0;
export async function run(graph, sets, seed) {
  const out = mkdtempSync(join(tmpdir(), 'e3-bench-'));
  const t0 = performance.now();
  const what = `[bench] run ${++runs}: ${graph} seed ${seed ?? 0}${sets.length ? ` (${sets.join(' ')})` : ''}`;
  process.stderr.write(`${what} …\n`);
  const r = await runGraph(join(ROOT, graph), {
    modules: builtinModules,
    sets,
    seed,
    outDir: out,
    quiet: true,
    logLevel: 'warn',
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  process.stderr.write(`${what} done in ${wallSeconds.toFixed(1)} s\n`);
  return { values: r.lastValues, wallSeconds, runDir: out };
}

/** Held-out KL to the teacher, perplexity and exact match of the teacher with a layer mask. */
export async function evaluateMask(teacher, heldout, mask) {
  const kept = mask.flatMap((m, i) => (m ? [i] : []));
  const pruned = cloneHandle(teacher, kept);
  try {
    const lik = await heldoutLikelihood(pruned, heldout, teacher);
    const em = await exactMatch(pruned, heldout, 8);
    return { kl: lik.kl, perplexity: lik.perplexity, accuracy: em.accuracy };
  } finally {
    pruned.dispose();
  }
}
