/**
 * A Node module-resolution hook (registered by load-plugins.ts with `module.register`): a
 * plugin module anywhere on disk that imports one of e3's shared packages (@e3/core,
 * inversify, reflect-metadata, @tensorflow/tfjs-core, …) gets e3's own copy, as if they were
 * peer dependencies that e3 provides. One copy matters: inversify's container, tfjs's engine
 * and its backends are process-wide singletons.
 */
/** `host`: a module URL inside e3 to resolve from; `root`: e3's root URL (importers below it resolve as usual). */
interface HookData {
  host: string;
  root: string;
  shared: string[];
}
type Resolve = (specifier: string, context: { parentURL?: string }) => Promise<unknown>;

let data: HookData = { host: '', root: '', shared: [] };

export function initialize(d: HookData): void {
  data = d;
}

const isShared = (specifier: string) => data.shared.some((p) => specifier === p || specifier.startsWith(p + '/'));

export async function resolve(specifier: string, context: { parentURL?: string }, next: Resolve): Promise<unknown> {
  if (data.host && context.parentURL && !context.parentURL.startsWith(data.root) && isShared(specifier)) {
    return next(specifier, { ...context, parentURL: data.host });
  }
  return next(specifier, context);
}
