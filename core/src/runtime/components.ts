import { Container } from 'inversify';
import { componentSchema } from '../graph/validate.js';
import { isPlainObject } from '../graph/paths.js';
import type { JsonSchema } from '../registry/manifest.js';
import type { Registry } from '../registry/registry.js';
import { COMPONENT_PARAMS } from '../registry/tokens.js';

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
  if (items && Array.isArray(value)) return value.map((v) => instantiateComponents(items, v, registry, container));
  return value;
}
