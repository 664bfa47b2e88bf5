/**
 * Skips the current test or suite and says why on the output, so that pending tests are never
 * silent dots: `(skipped: <title>: <reason>)`.
 */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  const t = ctx.test;
  const hook = (t as { type?: string } | undefined)?.type === 'hook';
  const title = (hook ? t?.parent?.fullTitle() : t?.fullTitle()) ?? '';
  process.stdout.write(`\n      (skipped: ${title}: ${reason})\n`);
  ctx.skip();
}

/** Why a test of the native kernels skips: the addon was not built here. */
export const NO_ADDON =
  'the native addon is not built (native/build.js needs g++ and libopenblas-dev; e3 then uses the wasm kernels)';
