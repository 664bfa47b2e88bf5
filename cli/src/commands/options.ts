import { InvalidArgumentError } from 'commander';

/**
 * Parsers for numeric command-line options, for commander's `.argParser()` (or the third
 * argument of `.option()`). They throw commander's InvalidArgumentError, so commander names
 * the option and the value: `error: option '--batch-size <n>' argument '0' is invalid. It
 * must be an integer ≥ 1.` and the CLI exits 2. Defaults are given as numbers (commander does
 * not parse them).
 */

const INTEGER = /^[+-]?\d+$/;

/** A repeatable option's values, for `.option(flags, doc, collect, [])`. */
export const collect = (value: string, previous: readonly string[]): string[] => [...previous, value];

/** An integer ≥ `min` and ≤ `max` (decimal digits only: "1e3", "0x10", "2.0" and "" are refused). */
export function integerAtLeast(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value.trim());
    if (!INTEGER.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`It must be an integer ${range}.`);
    }
    return n;
  };
}

/** Seeds: the RNG takes 32 bits, so larger seeds would alias smaller ones. */
export const seedInteger = integerAtLeast(0, 2 ** 32 - 1);

/** Counts and sizes: an integer ≥ 1. */
export const positiveInteger = integerAtLeast(1);

/** A finite number > 0 (a temperature, a rate). */
export function positiveNumber(value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('It must be a finite number > 0.');
  return n;
}

const LIST_RULE = 'a comma-separated list of integers ≥ 0 (e.g. 1,2,3)';

/** The integers of `1,2,3`, or undefined unless it is a non-empty list of integers ≥ 0. */
function intList(value: string): number[] | undefined {
  const parts = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const out = parts.map(Number);
  const ok = parts.length > 0 && parts.every((s, i) => INTEGER.test(s) && Number.isSafeInteger(out[i]) && out[i] >= 0);
  return ok ? out : undefined;
}

/** A list option, as an option parser. */
export function integerList(value: string): number[] {
  const out = intList(value);
  if (!out) throw new InvalidArgumentError(`It must be ${LIST_RULE}.`);
  return out;
}

/** Seeds as a list (`0,1,2`): each a 32-bit integer (what the RNG takes), none twice (it would run one point twice). */
export function seedList(value: string): number[] {
  const out = intList(value);
  if (!out) throw new InvalidArgumentError(`It must be ${LIST_RULE}.`);
  const big = out.find((n) => n > 2 ** 32 - 1);
  if (big !== undefined)
    throw new InvalidArgumentError(`Seed ${big} is too large: seeds are integers from 0 to 4294967295 (32 bits).`);
  const twice = out.find((n, i) => out.indexOf(n) !== i);
  if (twice !== undefined)
    throw new InvalidArgumentError(`Seed ${twice} is given twice: it would run the same point twice; give it once.`);
  return out;
}
