import { createHash } from 'node:crypto';

/**
 * A fingerprint of a payload: sha1 of its JSON text. The ledger compares fingerprints to skip rows Siro
 * already holds. Mapped payloads list their keys in Siro's schema order whatever order the mapping file
 * uses (see mapping/check.ts), so the native JSON.stringify is already canonical for them and costs a
 * fraction of a sorting serialiser on the hot path. Values with bigints fall back to `canonicalJson`.
 */
export function fingerprint(payload: unknown): string {
  return fingerprintOfJson(payloadJson(payload));
}

/** The payload's JSON text, as fingerprinted (and as sent). */
export function payloadJson(payload: unknown): string {
  try {
    return JSON.stringify(payload);
  } catch {
    return canonicalJson(payload);
  }
}

export function fingerprintOfJson(json: string): string {
  return createHash('sha1').update(json).digest('hex');
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
