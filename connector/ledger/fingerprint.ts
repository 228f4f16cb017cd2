import { createHash } from 'node:crypto';
import { payloadJson } from '../delivery/payload-json.js';

/**
 * A fingerprint of a payload: sha1 of its JSON text, the very text the sinks send (delivery/payload-json.ts).
 * The ledger compares fingerprints to skip rows Siro already holds.
 */
export function fingerprint(payload: unknown): string {
  return fingerprintOfJson(payloadJson(payload));
}

export function fingerprintOfJson(json: string): string {
  return createHash('sha1').update(json).digest('hex');
}
