import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
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

export const openApi: OpenApiDoc = JSON.parse(readFileSync(join(specDir, 'siro-sync.openapi.json'), 'utf8'));

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

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
// ajv understands OpenAPI's `nullable` next to `type`; strict off for `description` and friends.
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
const compiled = new Map<OpenApiSchema, ValidateFunction>();

export function validatorFor(schema: OpenApiSchema): (body: unknown) => SiroIssue[] {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(forAjv(schema));
    compiled.set(schema, validate);
  }
  const fn = validate;
  return (body) => (fn(body) ? [] : (fn.errors ?? []).map(toIssue));
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
