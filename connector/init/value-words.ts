import type { SiroObject } from '../siro/objects.js';
import { ZONE_NAMES, nameWords, normalName } from './column-names.js';

/**
 * Reading intent from values and stream names: which Siro activity type, direction or deal disposition a
 * code means (`in` → INBOUND, `Site visit` → APPOINTMENT, `closed won` → WON), and what a stream's name
 * says about its rows (`public-calls`: calls, so CALL, and externalIds `call-…`).
 */

/** The kind of Siro activity a stream's name suggests (`calls` → CALL), for defaults. */
export function activityOfStream(stream: string): string {
  return activityOfText(stream) ?? 'MEETING';
}

export function activityOfText(text: string): string | undefined {
  const t = text.toLowerCase();
  if (/e-?mail/.test(t)) return 'EMAIL';
  if (/\bsms\b|text(?:s|_message)?\b|\bmessag/.test(t)) return 'TEXT';
  if (/call|phone|dial/.test(t)) return 'CALL';
  if (/appoint|visit|inspect|site|estimate|consult|tour|install|service/.test(t)) return 'APPOINTMENT';
  if (/meet|video|zoom|teams|webinar|conference|demo/.test(t)) return 'MEETING';
  if (/event/.test(t)) return 'EVENT';
  return undefined;
}

const INBOUND = new Set(['in', 'inbound', 'incoming', 'i', 'inb', 'received', 'answered', 'inbound_call']);
const OUTBOUND = new Set(['out', 'outbound', 'outgoing', 'o', 'outb', 'placed', 'dialed', 'dialled', 'outbound_call']);

export function directionOf(value: string): string | undefined {
  const v = value.trim().toLowerCase();
  if (INBOUND.has(v)) return 'INBOUND';
  if (OUTBOUND.has(v)) return 'OUTBOUND';
  return undefined;
}

export function dispositionOf(value: string): string | undefined {
  const v = value.trim().toLowerCase().replace(/[^a-z]/g, '');
  if (/won|win/.test(v)) return 'WON';
  if (/lost|lose|dead|cancel/.test(v)) return 'LOST';
  if (/^(open|active|inprogress|pending|new|qualified|negotiation|proposal)/.test(v)) return 'OPEN';
  return undefined;
}

/** A stream name without its schema prefix, singular: `public-calls` → `call`, `crm.Opportunities` → `opportunity`. */
export function entityName(stream: string): string {
  const base = stream.split(/[-.]/).filter((p) => p !== '').pop() ?? stream;
  const words = nameWords(base);
  const last = words.pop() ?? 'row';
  const singular = last.endsWith('ies') ? `${last.slice(0, -3)}y` : last.endsWith('sses') ? last.slice(0, -2) : last.endsWith('s') && !last.endsWith('ss') ? last.slice(0, -1) : last;
  return [...words, singular].join('_') || 'row';
}

export function isZoneName(path: string): boolean {
  const words = nameWords(path);
  const last = words.at(-1);
  return ZONE_NAMES.includes(normalName(path)) || last === 'tz' || last === 'timezone' || (last === 'zone' && words.at(-2) === 'time');
}


/** The object a stream's name suggests: deals and opportunities → opportunity, anything else → engagement. */
export function objectOfStream(stream: string): SiroObject {
  return /deal|opportunit|(^|[^a-z])opps?([^a-z]|$)/i.test(stream) ? 'opportunity' : 'engagement';
}
