import type { ValueKind } from './dialect.js';

/** JSON Schema of one column, as Singer SCHEMA messages and catalogs carry it. */
export type JsonSchema = Record<string, unknown>;

/** json/jsonb hold any JSON value, including a top-level null. */
const ANY_JSON_TYPES = ['object', 'array', 'string', 'number', 'boolean', 'null'];

/**
 * Postgres arrays of any declared type may hold up to 6 dimensions (MAXDIM): `int[]` can hold
 * `{{1,2},{3,4}}`. An element may therefore be a value or an array, down to this depth.
 */
const MAX_ARRAY_DIMENSIONS = 6;

export function columnSchema(kind: ValueKind, nullable: boolean): JsonSchema {
  const schema = baseSchema(kind);
  // NaN and ±Infinity, which JSON cannot hold, are written as null even in a NOT NULL column.
  const mayBeNull = nullable || kind.type === 'decimal' || kind.type === 'float';
  if (mayBeNull && Array.isArray(schema.type) && !schema.type.includes('null')) schema.type = [...schema.type, 'null'];
  return schema;
}

/** The schema of an array's elements: nullable values, or (for another dimension) arrays of them. */
function elementSchema(kind: ValueKind, dimensionsLeft: number): JsonSchema {
  const value = columnSchema(kind, true);
  if (dimensionsLeft <= 1 || kind.type === 'json') return value;
  return { ...value, type: [...(value.type as string[]), 'array'], items: elementSchema(kind, dimensionsLeft - 1) };
}

function baseSchema(kind: ValueKind): JsonSchema {
  switch (kind.type) {
    case 'integer':
    case 'bigint':
      return { type: ['integer'] };
    case 'decimal':
    case 'float':
      return { type: ['number'] };
    case 'boolean':
      return { type: ['boolean'] };
    case 'string':
      return kind.format ? { type: ['string'], format: kind.format } : { type: ['string'] };
    case 'date':
      return { type: ['string'], format: 'date' };
    case 'timestamp':
    case 'timestamptz':
      return { type: ['string'], format: 'date-time' };
    case 'json':
      return { type: [...ANY_JSON_TYPES] };
    case 'array':
      // Array elements may be NULL whatever the column's constraint, and arrays again (more dimensions).
      return { type: ['array'], items: elementSchema(kind.items, MAX_ARRAY_DIMENSIONS) };
  }
}

/** The stream's record schema: one property per column, in column order. */
export function recordSchema(columns: { name: string; kind: ValueKind; nullable: boolean }[]): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const c of columns) properties[c.name] = columnSchema(c.kind, c.nullable);
  return { type: 'object', properties };
}
