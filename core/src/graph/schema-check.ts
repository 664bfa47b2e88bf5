import { Ajv, type ErrorObject, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import type { JsonSchema } from '../registry/manifest.js';
import { pathSpecProblem, type PathSpec } from '../services/user-paths.js';
import { didYouMean, suggestion } from '../did-you-mean.js';
import type { Path } from './paths.js';

/** One schema violation at a path below the validated value. */
export interface SchemaProblem {
  path: Path;
  message: string;
  fix?: string;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
ajv.addKeyword({ keyword: 'x-component', schemaType: 'string' });

/** `x-path`: the string names an input file or directory that must exist now (see PathSpec). */
const checkPath: SchemaValidateFunction = (spec: PathSpec, value: string) => {
  const p = pathSpecProblem(value, spec);
  if (!p) return true;
  const noun = spec.kind === 'dir' ? 'directory' : 'file';
  checkPath.errors = [{ keyword: 'x-path', message: `${noun} "${value}" ${p.reason}`, params: { fix: p.fix } }];
  return false;
};
ajv.addKeyword({
  keyword: 'x-path',
  type: 'string',
  schemaType: 'object',
  metaSchema: {
    type: 'object',
    required: ['kind'],
    additionalProperties: false,
    properties: { kind: { enum: ['file', 'dir'] }, contains: { type: 'array', items: { type: 'string' } } },
  },
  errors: true,
  validate: checkPath,
});
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

/** Validates `value` in place (filling defaults) and returns every problem, paths relative to `value`. */
export function checkSchema(schema: JsonSchema, value: unknown): SchemaProblem[] {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).filter((e) => e.keyword !== 'if').map((e) => describe(e));
}

function describe(e: ErrorObject): SchemaProblem {
  const path: (string | number)[] = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
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
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
      const near = typeof e.data === 'string' ? didYouMean(e.data, allowed.map(String)) : undefined;
      const message = `${at} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
      return { path, message, fix: near === undefined ? undefined : `did you mean "${near}"?` };
    }
    case 'x-path':
      return { path, message: e.message!, fix: (e.params as { fix: string }).fix };
    case 'const':
      return { path, message: `${at} must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}` };
    default:
      return { path, message: `${at} ${e.message ?? 'is invalid'}` };
  }
}
