// Markdown tables and result files for the benchmarks (numbers for people; no asserts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';

export const BENCH = dirname(dirname(fileURLToPath(import.meta.url)));
export const ROOT = dirname(BENCH);

/** | a | b | rows as Markdown. */
export function table(headers, rows) {
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

export const fmt = (x, d = 4) =>
  x === undefined || x === null || Number.isNaN(x)
    ? '—'
    : typeof x === 'number'
      ? Number.isInteger(x)
        ? String(x)
        : x.toFixed(d)
      : String(x);
export const pct = (x) => (x === undefined ? '—' : `${(100 * x).toFixed(1)}%`);
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
export const spread = (xs) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
};

/** The facts every results file starts with. */
export function header(title, extra = {}) {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const tfjs = JSON.parse(readFileSync(join(ROOT, 'node_modules/@tensorflow/tfjs-core/package.json'), 'utf8')).version;
  const lines = [
    `# ${title}`,
    '',
    `Generated ${new Date().toISOString()} by \`${process.argv
      .slice(1)
      .map((a) => a.replace(ROOT + '/', ''))
      .join(' ')}\`.`,
    '',
    `- machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    `- e3-pruner ${pkg.version}, TensorFlow.js ${tfjs}`,
    `- wall time of this script: ${(process.uptime() / 60).toFixed(1)} min`,
  ];
  for (const [k, v] of Object.entries(extra)) lines.push(`- ${k}: ${v}`);
  return lines.join('\n') + '\n';
}

/** Writes bench/results/<name>.md and prints it. */
export function writeResult(name, text) {
  const file = join(BENCH, 'results', `${name}.md`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  process.stdout.write(text + '\n');
  process.stderr.write(`wrote ${file}\n`);
}

/** Options every bench script takes. */
const COMMON = {
  quick: {
    type: 'boolean',
    description: 'smoke run at tiny sizes; writes bench/results/<name>.quick.md (git-ignored)',
  },
  help: { type: 'boolean', short: 'h', description: 'print this help and exit (runs nothing)' },
};

/**
 * Parses a bench script's options with util.parseArgs (strict: unknown options are refused) and
 * prints `usage` with the options on --help, exiting before anything runs. Call it first.
 * `options`: name → { type: 'string' | 'boolean', description, default? }.
 */
export function benchCli(usage, options = {}, { positionals = false, quick = true } = {}) {
  const all = { ...options, ...(quick ? COMMON : { help: COMMON.help }) };
  const help = () =>
    `${usage.trimEnd()}\n\noptions:\n${Object.entries(all)
      .map(
        ([k, o]) =>
          `  --${k}${o.type === 'string' ? ' <value>' : ''}`.padEnd(26) +
          `${o.description}${o.default !== undefined ? ` (default ${o.default})` : ''}`,
      )
      .join('\n')}\n`;
  let parsed;
  try {
    const spec = Object.fromEntries(
      Object.entries(all).map(([k, o]) => [k, o.short ? { type: o.type, short: o.short } : { type: o.type }]),
    );
    parsed = parseArgs({ options: spec, allowPositionals: positionals });
  } catch (e) {
    process.stderr.write(`${e.message}\n\n${help()}`);
    process.exit(2);
  }
  if (parsed.values.help) {
    process.stdout.write(help());
    process.exit(0);
  }
  return parsed.values;
}

/** `--quick` shrinks every benchmark to a smoke run (used by the test suite). */
export const QUICK = process.argv.includes('--quick');
export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
