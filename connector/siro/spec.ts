import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';
import { specDir } from '../core/paths.js';

/**
 * Siro's published sync API (a copy of the OpenAPI 3.0 spec inside the project) as the single source of
 * truth for payload shapes: the mapping checker walks it, the target validates payloads against it before
 * sending, and the sandbox validates request bodies against it.
 */

// Siro's objects (their endpoints and request schemas) are in objects.ts; ledger/ and commands/preview.ts
// still import the type from here.
export type { SiroObject } from './objects.js';

/** An OpenAPI 3.0 schema object, as far as this project reads it. */
export interface OpenApiSchema {
  type?: string;
  nullable?: boolean;
  enum?: unknown[];
  format?: string;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  items?: OpenApiSchema;
  description?: string;
}

/** Siro's endpoints that are not an object's sync endpoints (those are in objects.ts). */
export const SIRO_PATHS = {
  softDeleteRemoved: '/v1/integrations/sync/engagements/soft-delete-removed',
  callerIdentity: '/v1/core/auth/caller-identity',
} as const;

export const DEFAULT_BASE_URL = 'https://functions.siro.ai/api-externalApi';

interface OpenApiDoc {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: OpenApiSchema }> } }>>;
}

const specText = readFileSync(join(specDir, 'siro-sync.openapi.json'), 'utf8');
export const openApi: OpenApiDoc = JSON.parse(specText);

export function requestSchemaFor(path: string, method: string): OpenApiSchema {
  const op = openApi.paths[path]?.[method.toLowerCase()];
  const schema = op?.requestBody?.content['application/json']?.schema;
  if (!schema) throw new Error(`Siro spec has no request body for ${method.toUpperCase()} ${path}`);
  return schema;
}

/** A validation issue in the shape Siro answers with (zod's). */
export interface SiroIssue {
  code: string;
  path: (string | number)[];
  message: string;
}

/**
 * How ajv compiles Siro's request schemas, at run time (validatorFor) and at build time (the standalone
 * code of standaloneValidatorCode): both must read a schema the same way. ajv understands OpenAPI's
 * `nullable` next to `type`; strict off for `description` and friends.
 */
const AJV_OPTIONS: Options = { allErrors: true, strict: false };

const require = createRequire(import.meta.url);

/**
 * ajv and its formats load on the first schema compiled at run time (the sandbox, the tests, a build
 * without generated validators): a run validates payloads with the code generated at build time (objects.ts)
 * and never pays for them. The spec is ours and trusted, so it is not checked against ajv's meta-schema
 * here (that costs more than the compile itself); the build checks it when it generates the validators.
 */
function newAjv(options: Options): Ajv {
  const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
  const addFormats = require('ajv-formats') as (ajv: Ajv) => Ajv;
  return addFormats(new AjvClass(options));
}

let runtimeAjv: Ajv | undefined;
const compiled = new Map<OpenApiSchema, ValidateFunction>();

/** ajv's validate function of a schema, compiled now (once per schema object). */
export function compiledValidator(schema: OpenApiSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    runtimeAjv ??= newAjv({ ...AJV_OPTIONS, validateSchema: false });
    validate = runtimeAjv.compile(forAjv(schema));
    compiled.set(schema, validate);
  }
  return validate;
}

/** A validator of a schema, compiled now (once per schema object), that answers with Siro's issues. */
export function validatorFor(schema: OpenApiSchema): (body: unknown) => SiroIssue[] {
  return issuesOf(compiledValidator(schema));
}

/** An ajv validate function (compiled now or generated at build time) as Siro's issue list. */
export function issuesOf(fn: ValidateFunction): (body: unknown) => SiroIssue[] {
  return (body) => (fn(body) ? [] : (fn.errors ?? []).map(toIssue));
}

let specKey: string | undefined;

/**
 * Identifies the spec as this process reads it and how ajv reads it (its options, the nullable-enum rewrite):
 * code generated under another key (the spec changed since the build) is not used.
 */
export function validatorCodeKey(): string {
  specKey ??= createHash('sha256').update(JSON.stringify(AJV_OPTIONS)).update(forAjv.toString()).update(specText).digest('hex');
  return specKey;
}

/**
 * The standalone code (CommonJS) of one validator per name, as ajv would compile them at run time. For the
 * build (scripts/post-build.mjs), which also checks the schemas against ajv's meta-schema here.
 */
export function standaloneValidatorCode(schemas: Record<string, OpenApiSchema>): string {
  const standaloneCode = (require('ajv/dist/standalone') as { default: (ajv: Ajv, refs: Record<string, string>) => string }).default;
  const ajv = newAjv({ ...AJV_OPTIONS, code: { source: true } });
  for (const [name, schema] of Object.entries(schemas)) ajv.addSchema(forAjv(schema), name);
  return standaloneCode(ajv, Object.fromEntries(Object.keys(schemas).map((name) => [name, name])));
}

/** OpenAPI 3.0 `nullable` also lets null through an `enum`; JSON Schema needs null listed. */
function forAjv(schema: OpenApiSchema): OpenApiSchema {
  const out: OpenApiSchema = { ...schema };
  if (schema.nullable && schema.enum && !schema.enum.includes(null)) out.enum = [...schema.enum, null];
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, forAjv(v)]));
  }
  if (schema.items) out.items = forAjv(schema.items);
  return out;
}

function toIssue(e: ErrorObject): SiroIssue {
  const path: (string | number)[] = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  switch (e.keyword) {
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      return { code: 'invalid_type', path: [...path, missing], message: 'Required' };
    }
    case 'type':
      return { code: 'invalid_type', path, message: `Expected ${(e.params as { type: string }).type}` };
    case 'enum':
      return {
        code: 'invalid_enum_value',
        path,
        message: `Invalid enum value. Expected ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) => `'${String(v)}'`).join(' | ')}`,
      };
    case 'format':
      return { code: 'invalid_string', path, message: `Invalid ${(e.params as { format: string }).format}` };
    default:
      return { code: 'custom', path, message: e.message ?? e.keyword };
  }
}

export function formatIssues(issues: SiroIssue[]): string[] {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`);
}
