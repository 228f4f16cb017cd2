import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { issuesOf, requestSchemaFor, standaloneValidatorCode, validatorCodeKey, validatorFor, type OpenApiSchema, type SiroIssue } from './spec.js';

/**
 * Siro's objects, one entry each: what the mapping checker, the delivery engine and the sandbox need to
 * know about an object type. Adding one is an entry here (its request schema comes from the OpenAPI copy
 * in spec/) plus its mapping docs; the compiler then asks for the sandbox's answer for it (sandbox/responses.ts).
 */

interface ObjectEntry<Name extends string> {
  /** The collection's name: last segment of its sync paths, and the sandbox's read-back path. */
  readonly plural: string;
  /** Sync endpoints: `single` takes one payload, `batch` an array (Siro's issue paths then start with the item's index). */
  readonly paths: { readonly single: string; readonly batch: string };
  /**
   * A payload may name an object of another type that Siro links it to by externalId: while this run still
   * has a write of that object without an outcome, the payload waits for it (delivery/dependencies.ts).
   */
  readonly dependsOn?: {
    readonly object: Name;
    /** The externalId of the object this payload references, if any. */
    readonly reference: (payload: Record<string, unknown>) => string | undefined;
  };
}

/** Names each entry after its key; the compiler checks that `dependsOn` names an object of the registry. */
function defineObjects<const R extends Record<string, ObjectEntry<Extract<keyof R, string>>>>(
  entries: R,
): { readonly [K in Extract<keyof R, string>]: ObjectEntry<Extract<keyof R, string>> & { readonly name: K } } {
  return Object.fromEntries(Object.entries(entries).map(([name, entry]) => [name, { name, ...entry }])) as never;
}

export const SIRO_OBJECTS = defineObjects({
  engagement: {
    plural: 'engagements',
    paths: { single: '/v1/integrations/sync/engagements', batch: '/v1/integrations/sync/batch/engagements' },
    // Siro links an engagement's nested `opportunity` that carries only its externalId to an opportunity
    // it already has, so the opportunity's own write must come first.
    dependsOn: { object: 'opportunity', reference: referencedOpportunity },
  },
  opportunity: {
    plural: 'opportunities',
    paths: { single: '/v1/integrations/sync/opportunities', batch: '/v1/integrations/sync/batch/opportunities' },
  },
});

export type SiroObject = keyof typeof SIRO_OBJECTS;
export type SiroObjectDefinition = ObjectEntry<SiroObject> & { readonly name: SiroObject };

/** Every object name, in registry order (for messages such as "objects: engagement, opportunity"). */
export const SIRO_OBJECT_NAMES = Object.keys(SIRO_OBJECTS) as readonly SiroObject[];

export function isSiroObject(name: string): name is SiroObject {
  return Object.hasOwn(SIRO_OBJECTS, name);
}

/** The request schema of one Siro object (the single-item sync endpoint's body). */
export function objectSchema(object: SiroObject): OpenApiSchema {
  return requestSchemaFor(SIRO_OBJECTS[object].paths.single, 'put');
}

/**
 * The payload validators generated at build time (scripts/post-build.mjs writes this file next to the
 * built objects.js): ajv's standalone code of the request schemas, so a run does not load ajv and compile
 * them at every start. From the sources (tests) it is absent and the validators are compiled at run time.
 */
export const PREBUILT_VALIDATORS_FILE = 'payload-validators.generated.cjs';

interface PrebuiltValidators {
  /** Per object, the validatorKey it was generated under. */
  validatorKeys: Record<string, string>;
  [object: string]: ValidateFunction | Record<string, string>;
}

let prebuilt: PrebuiltValidators | null | undefined;

function prebuiltValidators(): PrebuiltValidators | null {
  if (prebuilt === undefined) {
    const file = fileURLToPath(new URL(PREBUILT_VALIDATORS_FILE, import.meta.url));
    prebuilt = existsSync(file) ? (createRequire(import.meta.url)(file) as PrebuiltValidators) : null;
  }
  return prebuilt;
}

/** What an object's validator is made from: the spec (as ajv reads it) and the object's request path. */
function validatorKey(object: SiroObject): string {
  return `${validatorCodeKey()} PUT ${SIRO_OBJECTS[object].paths.single}`;
}

/**
 * The generated validator of an object, if it was generated from what the spec and the registry say now;
 * undefined otherwise (not built, or the spec changed since the build).
 */
export function prebuiltPayloadValidator(object: SiroObject): ValidateFunction | undefined {
  const code = prebuiltValidators();
  const validate = code?.[object];
  if (typeof validate !== 'function' || code!.validatorKeys[object] !== validatorKey(object)) return undefined;
  return validate;
}

/** Validates one payload of a Siro object before it is sent: the generated validator, else one compiled now. */
export function payloadValidator(object: SiroObject): (payload: unknown) => SiroIssue[] {
  const validate = prebuiltPayloadValidator(object);
  return validate ? issuesOf(validate) : validatorFor(objectSchema(object));
}

/** The standalone code of every object's payload validator, for the build to write as PREBUILT_VALIDATORS_FILE. */
export function payloadValidatorCode(): string {
  const code = standaloneValidatorCode(Object.fromEntries(SIRO_OBJECT_NAMES.map((object) => [object, objectSchema(object)])));
  const keys = Object.fromEntries(SIRO_OBJECT_NAMES.map((object) => [object, validatorKey(object)]));
  return `${code}\nexports.validatorKeys = ${JSON.stringify(keys)};\n`;
}

/** The externalId of the opportunity an engagement payload nests (`opportunity.externalId`), if any. */
export function referencedOpportunity(payload: Record<string, unknown>): string | undefined {
  const nested = payload.opportunity;
  if (nested === null || typeof nested !== 'object' || Array.isArray(nested)) return undefined;
  const externalId = (nested as { externalId?: unknown }).externalId;
  return typeof externalId === 'string' && externalId !== '' ? externalId : undefined;
}
