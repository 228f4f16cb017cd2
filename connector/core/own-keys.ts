/**
 * Sets `key` on `target` as an own property, whatever the key: assigning `__proto__` with `=` would
 * replace the object's prototype instead, letting input (a SCHEMA, a record, a config file) inject keywords
 * or settings. Every copy of input keys goes through here.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}
