/**
 * Skips the current test or suite and says why on the output, so that pending tests are never
 * silent dots: `(skipped: <title>: <reason>)`.
 */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  const title = ctx.currentTest?.fullTitle() ?? ctx.test?.parent?.fullTitle() ?? ctx.test?.fullTitle() ?? '';
  process.stdout.write(`\n      (skipped: ${title}: ${reason})\n`);
  ctx.skip();
}
