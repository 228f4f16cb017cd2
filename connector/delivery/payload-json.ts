import { stringifyExact } from '../singer/exact-json.js';
import type { OutboundItem } from './sink.js';

/**
 * The one way a payload becomes JSON text: the bytes sent to Siro, written by a dry run, and fingerprinted
 * by the ledger are the same whatever is switched on. Mapped payloads list their keys in Siro's schema
 * order (mapping/build-plans.ts), so the native JSON.stringify is canonical for them; a payload holding a
 * bigint (rare: externalIds are text) takes the exact writer, which keeps the same key order.
 */
export function payloadJson(payload: unknown): string {
  try {
    return JSON.stringify(payload);
  } catch (e) {
    if (e instanceof TypeError) return stringifyExact(payload);
    throw e;
  }
}

/** The item's payload as JSON text, made once and kept on the item for every stage after. */
export function itemJson(item: OutboundItem): string {
  return (item.json ??= payloadJson(item.payload));
}
