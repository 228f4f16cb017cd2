import { createHash } from 'node:crypto';

/**
 * A fingerprint of a payload: sha1 of its canonical JSON (object keys sorted, `undefined` members left out
 * as JSON leaves them out). Two payloads Siro would store identically get the same fingerprint in any
 * process on any day, whatever order the mapping built their keys in; the ledger compares fingerprints to
 * skip rows Siro already holds.
 */
export function fingerprint(payload: unknown): string {
  return createHash('sha1').update(canonicalJson(payload)).digest('hex');
}

/** JSON with object keys sorted at every level; bigint as its exact digits (parseExact gives bigints). */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, parts);
  return parts.join('');
}

function write(value: unknown, out: string[]): void {
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'number':
      // JSON has no NaN/Infinity: JSON.stringify sends them as null, and so do we.
      out.push(Number.isFinite(value) ? JSON.stringify(value) : 'null');
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'bigint':
      out.push(value.toString());
      return;
    case 'object':
      break;
    default:
      // undefined, functions, symbols: JSON.stringify omits them in objects and writes null in arrays.
      out.push('null');
      return;
  }
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') {
    write(withJson.toJSON(), out);
    return;
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      write(value[i], out);
    }
    out.push(']');
    return;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  out.push('{');
  let first = true;
  for (const key of keys) {
    const v = record[key];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    if (!first) out.push(',');
    first = false;
    out.push(JSON.stringify(key), ':');
    write(v, out);
  }
  out.push('}');
}
