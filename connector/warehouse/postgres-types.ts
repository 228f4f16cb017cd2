import type { ValueKind } from './dialect.js';

/** The pg_type fields the mapping needs. */
export interface PgTypeRow {
  oid: number;
  typname: string;
  /** b base, d domain, e enum, c composite, r range, m multirange, p pseudo */
  typtype: string;
  /** A array, B boolean, D date/time, N numeric, S string, U user ... */
  typcategory: string;
  /** Element type of an array type, else 0. */
  typelem: number;
  /** Base type of a domain, else 0. */
  typbasetype: number;
  /** Element separator in the array text of this type (`,` for all but box). */
  typdelim: string;
}

const BY_NAME: Record<string, ValueKind> = {
  int2: { type: 'integer' },
  int4: { type: 'integer' },
  oid: { type: 'integer' },
  int8: { type: 'bigint' },
  numeric: { type: 'decimal' },
  float4: { type: 'float' },
  float8: { type: 'float' },
  bool: { type: 'boolean' },
  uuid: { type: 'string', format: 'uuid' },
  date: { type: 'date' },
  timestamp: { type: 'timestamp' },
  timestamptz: { type: 'timestamptz' },
  json: { type: 'json' },
  jsonb: { type: 'json' },
};

/**
 * The ValueKind of a type, looking through domains (to their base type) and arrays (to their element
 * type). `types` must hold every type reached that way (see `typeClosure`). Anything without a better
 * mapping (text, varchar, char, time, interval, bytea, enums, ranges ...) is written as its text.
 */
export function kindOfType(oid: number, types: ReadonlyMap<number, PgTypeRow>): ValueKind {
  const t = types.get(oid);
  if (!t) return { type: 'string' };
  if (t.typtype === 'd' && t.typbasetype) return kindOfType(t.typbasetype, types);
  // Real array types are named _<element>; int2vector/oidvector are category A too but print "1 2 3".
  if (t.typcategory === 'A' && t.typelem && t.typname.startsWith('_')) {
    const elem = types.get(t.typelem);
    return { type: 'array', items: kindOfType(t.typelem, types), delimiter: elem?.typdelim ?? ',' };
  }
  return BY_NAME[t.typname] ?? { type: 'string' };
}

/** OIDs still to look up so that `kindOfType` can resolve every type in `types`. */
export function missingTypeOids(types: ReadonlyMap<number, PgTypeRow>): number[] {
  const missing = new Set<number>();
  for (const t of types.values()) {
    for (const next of [t.typelem, t.typbasetype]) if (next && !types.has(next)) missing.add(next);
  }
  return [...missing];
}
