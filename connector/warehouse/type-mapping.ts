import type { ValueKind } from './dialect.js';

/** JSON Schema of one column, as Singer SCHEMA messages and catalogs carry it. */
export type JsonSchema = Record<string, unknown>;

/** json/jsonb hold any JSON value, including a top-level null. */
const ANY_JSON_TYPES = ['object', 'array', 'string', 'number', 'boolean', 'null'];

export function columnSchema(kind: ValueKind, nullable: boolean): JsonSchema {
  const schema = baseSchema(kind);
  if (nullable && Array.isArray(schema.type) && !schema.type.includes('null')) schema.type = [...schema.type, 'null'];
  return schema;
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
      // Array elements may be NULL whatever the column's constraint.
      return { type: ['array'], items: columnSchema(kind.items, true) };
  }
}

/** The stream's record schema: one property per column, in column order. */
export function recordSchema(columns: { name: string; kind: ValueKind; nullable: boolean }[]): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const c of columns) properties[c.name] = columnSchema(c.kind, c.nullable);
  return { type: 'object', properties };
}
