import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { JsonSchema } from '../registry/manifest.js';
import { suggestion } from './did-you-mean.js';
import type { Path } from './paths.js';

/** One schema violation at a path below the validated value. */
export interface SchemaProblem { path: Path; message: string; fix?: string }

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
ajv.addKeyword({ keyword: 'x-component', schemaType: 'string' });
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

/** Validates `value` in place (filling defaults) and returns every problem, paths relative to `value`. */
export function checkSchema(schema: JsonSchema, value: unknown): SchemaProblem[] {
  let validate = compiled.get(schema);
  if (!validate) { validate = ajv.compile(schema); compiled.set(schema, validate); }
  if (validate(value)) return [];
  return (validate.errors ?? []).filter((e) => e.keyword !== 'if').map((e) => describe(e));
}

function describe(e: ErrorObject): SchemaProblem {
  const path: (string | number)[] = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const at = path.length ? `"${path.join('.')}"` : 'value';
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty);
      const known = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {});
      return { path: [...path, extra], message: `unknown field "${extra}"`, fix: suggestion(extra, known) };
    }
    case 'required': {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      return { path, message: `missing required field "${missing}"`, fix: `add ${missing}: …` };
    }
    case 'enum':
      return { path, message: `${at} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const':
      return { path, message: `${at} must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}` };
    default:
      return { path, message: `${at} ${e.message ?? 'is invalid'}` };
  }
}
