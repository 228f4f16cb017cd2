import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv, Options, ValidateFunction } from 'ajv';
import type * as Zod from 'zod';

/**
 * The settings schema (zod, in settings.ts) as code generated at build time, so that a run whose settings
 * are plainly valid starts without loading zod (~50 ms of the ~300 ms a start may take). zod stays the
 * one definition: the build turns it into JSON Schema (zod's own toJSONSchema) and that into ajv's
 * standalone code, with the defaults zod fills in. Only settings whose zod checks that JSON Schema states
 * exactly are checked here (`exactKeys`); input that names any other setting (a URL, a transform), or that
 * this check refuses, goes to zod, which decides and words every error. test/config/settings-check.test.ts
 * checks that both give the same settings.
 */

const require = createRequire(import.meta.url);

type ZodObject = Zod.ZodObject<Zod.ZodRawShape>;

/** What the build writes (as CommonJS) and a run reads. */
export interface GeneratedCheck {
  /** What it was generated from (settings.ts's key): any other key means it is stale. */
  key: string;
  /** Every setting, in the schema's order (zod's output order). */
  keys: string[];
  /** What zod outputs for each setting with a default when it is not given. */
  defaults: Record<string, unknown>;
  /** Settings this check cannot decide: input that names one goes to zod. */
  zodOnly: string[];
  /** The settings as JSON Schema (zod's toJSONSchema, input side), for --about. */
  jsonSchema: Record<string, unknown>;
  /** Validates the whole input object. */
  all: ValidateFunction;
  /** Validates one setting's value (for settings given as text: which type the text is read as). */
  props: Record<string, ValidateFunction>;
}

/**
 * ajv as the build compiles the JSON Schema: formats are not checked (no setting with a format is decided
 * here); strict off for zod's annotations (`secret`, `default`).
 */
const AJV_OPTIONS: Options = { allErrors: false, strict: false, validateFormats: false, code: { source: true } };

/** The generated check in `file`, if it was generated under `key()`; null when absent or stale. */
export function loadGeneratedCheck(file: string, key: () => string): GeneratedCheck | null {
  if (!existsSync(file)) return null;
  const check = require(file) as GeneratedCheck;
  return check.key === key() ? check : null;
}

/**
 * The settings whose zod schema this check decides exactly as zod does: plain strings (at most `min(1)`,
 * which counts the same in UTF-16 units and code points), ASCII regexes without flags, numbers with bounds
 * and `int()`, booleans, enums, arrays of those, optional or with a default. Anything else (a URL format,
 * a union, a transform, a refinement) is zod's alone.
 */
export function exactKeys(schema: ZodObject): { exact: string[]; zodOnly: string[] } {
  const exact: string[] = [];
  const zodOnly: string[] = [];
  for (const [key, s] of Object.entries(schema.shape)) (isExact(s as Zod.ZodType) ? exact : zodOnly).push(key);
  return { exact, zodOnly };
}

interface CheckDef {
  check: string;
  format?: string;
  minimum?: number;
  pattern?: RegExp;
}

function isExact(s: Zod.ZodType): boolean {
  const def = s._zod.def as { type: string; checks?: { _zod: { def: CheckDef } }[]; innerType?: Zod.ZodType; element?: Zod.ZodType };
  const checks = (def.checks ?? []).map((c) => c._zod.def);
  switch (def.type) {
    case 'optional':
    case 'default':
      return checks.length === 0 && isExact(def.innerType!);
    case 'array':
      return checks.length === 0 && isExact(def.element!);
    case 'boolean':
    case 'enum':
      return checks.length === 0;
    case 'number':
      return checks.every((c) => c.check === 'greater_than' || c.check === 'less_than' || (c.check === 'number_format' && c.format === 'safeint'));
    case 'string':
      return checks.every(
        (c) =>
          (c.check === 'min_length' && c.minimum! <= 1) ||
          (c.check === 'string_format' && c.format === 'regex' && c.pattern!.flags === '' && /^[\x20-\x7e]*$/.test(c.pattern!.source) && !/\\[pPu]/.test(c.pattern!.source)),
      );
    default:
      return false;
  }
}

/** What zod outputs for each setting that is not given, where that is a value (its default). */
function defaultsOf(schema: ZodObject): Record<string, unknown> {
  const defaults: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(schema.shape)) {
    const r = (s as Zod.ZodType).safeParse(undefined);
    if (r.success && r.data !== undefined) defaults[key] = r.data;
  }
  return defaults;
}

/** The build: the check of `schema` as CommonJS source, generated under `key`. */
export function generatedCheckCode(z: typeof Zod, schema: ZodObject, key: string): string {
  const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
  const standaloneCode = (require('ajv/dist/standalone') as { default: (ajv: Ajv, refs: Record<string, string>) => string }).default;
  const jsonSchema = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown> & { properties: Record<string, unknown> };
  const { $schema: _draft, ...forAjv } = jsonSchema;
  const { exact, zodOnly } = exactKeys(schema);
  const ajv = new AjvClass(AJV_OPTIONS);
  ajv.addSchema(forAjv, 'all');
  const refs: Record<string, string> = { all: 'all' };
  for (const k of exact) {
    ajv.addSchema(jsonSchema.properties[k] as object, `prop-${k}`);
    refs[`prop-${k}`] = `prop-${k}`;
  }
  const code = standaloneCode(ajv, refs);
  const props = exact.map((k) => `${JSON.stringify(k)}: exports[${JSON.stringify(`prop-${k}`)}]`).join(', ');
  const fields = {
    key,
    keys: Object.keys(schema.shape),
    defaults: defaultsOf(schema),
    zodOnly,
    jsonSchema,
  };
  return [
    code,
    ...Object.entries(fields).map(([name, value]) => `exports.${name} = ${JSON.stringify(value)};`),
    `exports.props = { ${props} };`,
    '',
  ].join('\n');
}
