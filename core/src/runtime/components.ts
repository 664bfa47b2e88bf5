import { Container } from 'inversify';
import { componentSchema } from '../graph/validate.js';
import { isPlainObject } from '../graph/paths.js';
import type { JsonSchema } from '../registry/manifest.js';
import type { Registry } from '../registry/registry.js';
import { COMPONENT_PARAMS } from '../registry/tokens.js';
import { distinctNames } from '../graph/component-names.js';
import { UserError } from '../errors.js';

/**
 * Replaces every component slot (`x-component` in the schema) in validated params by an
 * instance built through DI: the component's class gets the run's services by constructor
 * injection and its own params through {@link COMPONENT_PARAMS}. Nested components are
 * built first, so a component's params hold instances too.
 */
export function instantiateComponents(
  schema: JsonSchema,
  value: unknown,
  registry: Registry,
  container: Container,
): unknown {
  if (typeof schema['x-component'] === 'string' && isPlainObject(value) && typeof value.component === 'string') {
    const manifest = registry.components.get(value.component)!;
    const own = instantiateComponents(componentSchema(manifest.params), value, registry, container) as Record<
      string,
      unknown
    >;
    const child = new Container({ parent: container, autobind: true });
    child.bind(COMPONENT_PARAMS).toConstantValue(own);
    return child.get(manifest.component);
  }
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (props && isPlainObject(value)) {
    const out: Record<string, unknown> = { ...value };
    for (const [k, s] of Object.entries(props))
      if (k in value) out[k] = instantiateComponents(s, value[k], registry, container);
    return out;
  }
  const items = schema.items as JsonSchema | undefined;
  if (items && Array.isArray(value)) {
    const list = value.map((v) => instantiateComponents(items, v, registry, container));
    if (typeof items['x-component'] === 'string') nameInstances(list, value);
    return list;
  }
  return value;
}

/**
 * Gives the named instances of a component list (those with a string `name`, e.g. loss terms) distinct
 * names: the `name:` written for one, else its own name, with its index when another has the same
 * (graph/component-names.ts), so that histories and plots keep each apart.
 */
function nameInstances(list: unknown[], written: unknown[]): void {
  const named = list.map((x) => (isPlainObject(x) && typeof x.name === 'string' ? x : undefined));
  if (named.some((x) => !x)) return;
  const given = written.map((v) => (isPlainObject(v) && typeof v.name === 'string' ? v.name : undefined));
  const names = distinctNames(
    named.map((x) => x!.name as string),
    given,
  );
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined)
    throw new UserError(`two components of one list are named "${twice}"; give one another name:`);
  names.forEach((n, i) => {
    if (named[i]!.name !== n) Object.defineProperty(named[i], 'name', { value: n, enumerable: true });
  });
}
