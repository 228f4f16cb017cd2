import { describe, expect, it } from 'vitest';
import { objectSchema, SIRO_OBJECT_NAMES, type SiroObject } from '../../connector/siro/objects.js';
import { compiledValidator, type OpenApiSchema } from '../../connector/siro/spec.js';
import { builtModule, READ_INPUT, runBuilt } from '../support/built.js';
import { engagement, opportunity } from '../support/siro-payloads.js';

/**
 * The payload validators the build generates (ajv's standalone code, scripts/post-build.mjs) answer every
 * payload exactly as the validators ajv compiles at run time from the same spec: same verdict, same errors.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A payload with every property of the schema set to a valid value. */
function fullSample(schema: OpenApiSchema): Json {
  if (schema.enum) return schema.enum.find((v) => v !== null) as Json;
  switch (schema.type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, v]) => [k, fullSample(v)]));
    case 'array':
      return [fullSample(schema.items ?? {}), fullSample(schema.items ?? {})];
    case 'number':
      return 12.5;
    case 'integer':
      return 7;
    case 'boolean':
      return true;
    default:
      return schema.format === 'date-time' ? '2024-05-01T10:00:00.000Z' : 'text';
  }
}

/** Every path to a value in a JSON value (object keys and array indexes). */
function paths(value: Json, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return [at, ...value.flatMap((v, i) => paths(v, [...at, i]))];
  if (value !== null && typeof value === 'object') return [at, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...at, k]))];
  return [at];
}

function withValue(root: Json, path: (string | number)[], value: Json | undefined): Json {
  if (path.length === 0) return value ?? null;
  const copy = structuredClone(root) as Record<string | number, Json>;
  let node = copy as Record<string | number, Json>;
  for (const step of path.slice(0, -1)) {
    const next = node[step];
    if (next === null || typeof next !== 'object') return copy; // an earlier change removed the path
    node = next as Record<string | number, Json>;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = value;
  return copy;
}

/** What replaces a value to break it (or not): each type, null, removal, a wrong enum value, a bad date. */
const REPLACEMENTS: (Json | undefined)[] = [undefined, null, 'text', '', 42, 1.5, -1, true, {}, [], ['text'], [{}], 'NOT_A_VALUE', 'outbound', '2024-13-45T99:00:00Z', '2024-05-01', 'yesterday', '2024-05-01T10:00:00+02:00'];

function corpus(object: SiroObject): Json[] {
  const base = fullSample(objectSchema(object));
  const out: Json[] = [base, { externalId: 'e1' }, {}, null, [], 'text', 3, { ...(base as object), unknownField: 1 }];
  out.push((object === 'engagement' ? engagement('e1') : opportunity('o1')) as Json);
  const all = paths(base).filter((p) => p.length > 0);
  for (const p of all) for (const r of REPLACEMENTS) out.push(withValue(base, p, r));
  // Two faults at once: allErrors reports both, in the same order.
  for (let i = 0; i < all.length; i += 3) {
    const j = (i * 7 + 5) % all.length;
    out.push(withValue(withValue(base, all[i]!, 42), all[j]!, null));
  }
  return out;
}

describe('payload validators generated at build time', () => {
  it('are what a built run uses', () => {
    const used = runBuilt<Record<string, boolean>>(
      `import { prebuiltPayloadValidator, SIRO_OBJECT_NAMES } from ${builtModule('connector/siro/objects.js')};
       process.stdout.write(JSON.stringify(Object.fromEntries(SIRO_OBJECT_NAMES.map((o) => [o, prebuiltPayloadValidator(o) !== undefined]))));`,
    );
    expect(used).toEqual(Object.fromEntries(SIRO_OBJECT_NAMES.map((o) => [o, true])));
  });

  it.each(SIRO_OBJECT_NAMES)('answer every %s payload as the validator compiled at run time does', (object) => {
    const payloads = corpus(object);
    const built = runBuilt<unknown[]>(
      `${READ_INPUT}
       import { prebuiltPayloadValidator } from ${builtModule('connector/siro/objects.js')};
       const validate = prebuiltPayloadValidator(input.object);
       process.stdout.write(JSON.stringify(input.payloads.map((p) => (validate(p) ? null : validate.errors))));`,
      { object, payloads },
    );
    const validate = compiledValidator(objectSchema(object));
    const runtime = payloads.map((p) => (validate(p) ? null : JSON.parse(JSON.stringify(validate.errors)) as unknown));
    expect(payloads.length).toBeGreaterThan(500);
    // Both kinds of verdict are covered.
    expect(runtime.filter((r) => r === null).length).toBeGreaterThan(50);
    expect(runtime.filter((r) => r !== null).length).toBeGreaterThan(200);
    expect(built).toEqual(runtime);
  });
});
