import { closeSync, openSync, writeSync } from 'node:fs';
import { seededRandom } from '../connector/sandbox/faults.js';

/**
 * Realistic Singer input for the shipped default mapping (mappings/default.yml, stream `public-calls`), as
 * tap-postgres would send a warehouse `calls` table: integer ids (some above 2^53, the way Snowflake-style
 * ids are), timestamps with microseconds and an offset, names, free-text notes, addresses, emails, a
 * JSON-text column the mapping does not read, and nulls. About 600 bytes per RECORD line.
 *
 * Every record is a pure function of (seed, position), so a "tap" can resume from any state: the STATE
 * messages carry `{"bookmarks":{"public-calls":{"replication_key_value": n}}}` with n the position of the
 * last record before them, and `singerLines(opts, n)` replays exactly the records after n.
 */

export const STREAM = 'public-calls';

export interface DatasetOptions {
  records: number;
  seed?: number;
  /** A STATE message after every this many records (and one after the last). */
  stateEvery?: number;
  /** Share of records that update an earlier record's row (same id, new values). */
  updateShare?: number;
  /** Share of records the target must reject (bad enum value, broken address, bad timestamp, bad amount). */
  invalidShare?: number;
  /** FULL_TABLE replication: ACTIVATE_VERSION before and after the rows, each RECORD carrying this version. */
  tableVersion?: number;
}

export type InvalidKind = 'direction-enum' | 'status-enum' | 'address-zip-type' | 'bad-timestamp' | 'bad-amount';
const INVALID_KINDS: readonly InvalidKind[] = ['direction-enum', 'status-enum', 'address-zip-type', 'bad-timestamp', 'bad-amount'];

/** What the generator knows about one record, for checking the target's work. */
export interface RecordInfo {
  position: number;
  /** The id column as JSON text (exact, may exceed 2^53). */
  idText: string;
  /** Set when the record must be rejected, with the way it is broken. */
  invalid?: InvalidKind;
  /** Position of the earlier record whose row this one updates. */
  updates?: number;
}

const FIRST_NAMES = ['Olivia', 'Liam', 'Emma', 'Noah', 'Amelia', 'Oliver', 'Sophia', 'Elijah', 'Charlotte', 'James', 'Mia', 'Lucas', 'Zoë', 'José', 'Anaïs', 'Björn'];
const LAST_NAMES = ['Smith', 'Johnson', 'Williams', 'Brown', 'Garcia', 'Miller', 'Davis', 'Martínez', 'Hernández', "O'Brien", 'Nguyen', 'Kowalski', 'Schäfer', 'Okafor'];
const CALL_TYPES = ['Discovery', 'Follow-up', 'Demo', 'Inspection', 'Estimate', 'Closing', 'Service'];
const DIRECTIONS = ['inbound', 'outbound', 'in', 'out', 'Inbound', 'OUTBOUND'];
const STATUSES = ['open', 'won', 'lost', 'Open', 'WON'];
const STREETS = ['Main St', 'Oak Avenue', 'Pine Road', 'Maple Drive', 'Cedar Lane', 'Elm Street', 'Washington Blvd', 'Lake Shore Dr'];
const PLACES: readonly [string, string, string, string][] = [
  ['Chicago', 'IL', '606', 'America/Chicago'],
  ['Austin', 'TX', '787', 'America/Chicago'],
  ['Denver', 'CO', '802', 'America/Denver'],
  ['Phoenix', 'AZ', '850', 'America/Phoenix'],
  ['Seattle', 'WA', '981', 'America/Los_Angeles'],
  ['Atlanta', 'GA', '303', 'America/New_York'],
  ['Boston', 'MA', '021', 'America/New_York'],
  ['Miami', 'FL', '331', 'America/New_York'],
];
const NOTE_PHRASES = [
  'Customer asked about financing options and wants a written quote.',
  'Roof inspection scheduled; homeowner mentioned hail damage from last spring.',
  'Left voicemail, will try again Thursday morning.',
  'Spoke with both decision makers — price is the main objection.',
  'Interested in the premium package; send brochure by email.',
  'Follow up after insurance adjuster visit. Gate code 4411.',
  'Competitor quoted 12% lower, "but we trust your crew".',
  'Needs install before the end of the month; prefers weekday slots.',
];
const SOURCES = ['dialer', 'web-form', 'referral', 'door-knock', 'partner'];

/** mulberry32 (the sandbox's), seeded per record: position i always yields the same record. */
function recordRandom(seed: number, position: number): () => number {
  return seededRandom((seed ^ Math.imul(position, 0x9e3779b1)) >>> 0);
}

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

/** Zoë Martínez → zoe.martinez: the way mail systems spell names (few names: cached). */
const emails = new Map<string, string>();
function asciiEmail(text: string): string {
  let email = emails.get(text);
  if (email === undefined) emails.set(text, (email = text.normalize('NFD').replace(/[\u0300-\u036f']/g, '').toLowerCase()));
  return email;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A timestamptz the way tap-postgres prints it: microseconds and an explicit offset. */
function tapTimestamp(ms: number, micros: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}${MICROS[micros]}+00:00`;
}
const MICROS = Array.from({ length: 1000 }, (_, i) => pad(i, 3));

const EPOCH = Date.UTC(2026, 0, 5, 13, 0, 0);
/** Ids of fresh rows: small ones, or Snowflake-style ones beyond 2^53 for a share of rows. */
const SMALL_ID_BASE = 10_000_000;
const BIG_ID_BASE = 1n << 60n;
/** Rejected rows get ids no valid row uses, so "delivered" and "rejected" never mix for one id. */
const INVALID_ID_BASE = 5_000_000_000;
const BIG_ID_SHARE = 0.2;
/** An update refers to a row at most this many records back (so batches see repeated ids). */
const UPDATE_REACH = 2000;

export class Dataset {
  readonly records: number;
  readonly seed: number;
  readonly stateEvery: number;
  private readonly updateShare: number;
  private readonly invalidShare: number;
  private readonly tableVersion: number | undefined;

  constructor(opts: DatasetOptions) {
    this.records = opts.records;
    this.seed = opts.seed ?? 7;
    this.stateEvery = opts.stateEvery ?? 1000;
    this.updateShare = opts.updateShare ?? 0;
    this.invalidShare = opts.invalidShare ?? 0;
    this.tableVersion = opts.tableVersion;
  }

  schemaLine(): string {
    const text = (extra: Record<string, unknown> = {}) => ({ type: ['null', 'string'], ...extra });
    const ts = { type: ['null', 'string'], format: 'date-time' };
    const schema = {
      type: 'object',
      properties: {
        id: { type: ['integer'] },
        call_type: text(),
        notes: text(),
        direction: text(),
        started_at: ts,
        ended_at: ts,
        timezone: text(),
        status: text(),
        account_id: text(),
        account_name: text(),
        customer_email: text(),
        street: text(),
        city: text(),
        state: text(),
        zip: text({ maxLength: 10 }),
        country: text(),
        phone: text(),
        rep_id: { type: ['null', 'integer'] },
        rep_email: text(),
        rep_name: text(),
        opportunity_id: text(),
        amount: { type: ['null', 'number', 'string'] },
        metadata: text(),
        created_at: ts,
        updated_at: ts,
      },
    };
    return JSON.stringify({ type: 'SCHEMA', stream: STREAM, schema, key_properties: ['id'], bookmark_properties: ['updated_at'] });
  }

  stateValue(position: number): { bookmarks: Record<string, { replication_key_value: number }> } {
    return { bookmarks: { [STREAM]: { replication_key_value: position } } };
  }

  stateLine(position: number): string {
    return JSON.stringify({ type: 'STATE', value: this.stateValue(position) });
  }

  /** The position a state value says the tap has sent up to (0 for no state). */
  static positionOf(stateValue: unknown): number {
    const v = (stateValue as { bookmarks?: Record<string, { replication_key_value?: unknown }> } | undefined)?.bookmarks?.[STREAM]
      ?.replication_key_value;
    return typeof v === 'number' ? v : 0;
  }

  /** Facts about record `position` (1-based) without building its line. */
  info(position: number): RecordInfo {
    const r = recordRandom(this.seed, position);
    const invalidDraw = r();
    const updateDraw = r();
    const reachDraw = r();
    const bigDraw = r();
    const kindDraw = r();
    if (invalidDraw < this.invalidShare) {
      return { position, idText: String(INVALID_ID_BASE + position), invalid: INVALID_KINDS[Math.floor(kindDraw * INVALID_KINDS.length)]! };
    }
    if (position > 1 && updateDraw < this.updateShare) {
      const target = position - 1 - Math.floor(reachDraw * Math.min(position - 1, UPDATE_REACH));
      const earlier = this.info(target);
      if (!earlier.invalid) return { position, idText: earlier.idText, updates: target };
    }
    const idText = bigDraw < BIG_ID_SHARE ? String(BIG_ID_BASE + BigInt(position)) : String(SMALL_ID_BASE + position);
    return { position, idText };
  }

  /** The RECORD line of `position`. */
  recordLine(position: number): string {
    const info = this.info(position);
    const r = recordRandom(this.seed ^ 0x51ed, position);
    // The row's stable facts come from the position of its first version, so an update keeps the
    // customer and changes what a later edit changes (status, notes, times).
    let origin = info;
    while (origin.updates !== undefined) origin = this.info(origin.updates);
    const base = recordRandom(this.seed ^ 0xba5e, origin.position);

    const first = pick(base, FIRST_NAMES);
    const last = pick(base, LAST_NAMES);
    const place = pick(base, PLACES);
    const callType = pick(base, CALL_TYPES);
    const houseNumber = 100 + Math.floor(base() * 9800);
    const accountId = `acct-${Math.floor(base() * 400_000)}`;
    const repId = 1000 + Math.floor(base() * 250);
    const repFirst = pick(base, FIRST_NAMES);
    const repLast = pick(base, LAST_NAMES);
    const hasOpportunity = base() < 0.6;
    const createdMs = EPOCH + Math.floor(origin.position * 37_000 + base() * 60_000);
    const startMs = createdMs + Math.floor(base() * 7 * 86_400_000);

    const updatedMs = EPOCH + position * 37_000 + Math.floor(r() * 30_000);
    const durationS = 60 + Math.floor(r() * 3600);
    const notes = r() < 0.1 ? null : pick(r, NOTE_PHRASES).slice(0, 30 + Math.floor(r() * 50));
    const record: Record<string, unknown> = {
      call_type: r() < 0.05 ? null : callType,
      notes,
      direction: pick(r, DIRECTIONS),
      started_at: tapTimestamp(startMs, Math.floor(r() * 1000)),
      ended_at: r() < 0.08 ? null : tapTimestamp(startMs + durationS * 1000, Math.floor(r() * 1000)),
      timezone: r() < 0.1 ? null : place[3],
      status: hasOpportunity ? pick(r, STATUSES) : null,
      account_id: accountId,
      account_name: `${first} ${last}`,
      customer_email: r() < 0.15 ? null : asciiEmail(`${first}.${last}@example.com`),
      street: `${houseNumber} ${pick(base, STREETS)}`,
      city: place[0],
      state: place[1],
      zip: r() < 0.05 ? null : `${place[2]}${pad(Math.floor(base() * 100))}`,
      country: r() < 0.3 ? null : 'US',
      phone: r() < 0.2 ? null : `+1 (${place[2]}) 555-${pad(Math.floor(base() * 10_000), 4)}`,
      rep_id: repId,
      rep_email: asciiEmail(`${repFirst}.${repLast}@roofing-co.example`),
      rep_name: `${repFirst} ${repLast}`,
      opportunity_id: hasOpportunity ? `opp-${origin.position}` : null,
      amount: hasOpportunity ? (r() < 0.5 ? Math.round(r() * 4_000_000) / 100 : (Math.round(r() * 4_000_000) / 100).toFixed(2)) : null,
      metadata: r() < 0.2 ? null : JSON.stringify({ source: pick(r, SOURCES), score: Math.round(r() * 100), tags: ['roof'] }),
      created_at: tapTimestamp(createdMs, Math.floor(r() * 1000)),
      updated_at: tapTimestamp(updatedMs, Math.floor(r() * 1000)),
    };
    if (info.invalid) breakRecord(record, info.invalid);
    const extracted = tapTimestamp(updatedMs + 120_000, 0);
    const version = this.tableVersion !== undefined ? `,"version":${this.tableVersion}` : '';
    return `{"type":"RECORD","stream":"${STREAM}","record":{"id":${info.idText},${JSON.stringify(record).slice(1)}${version},"time_extracted":"${extracted}"}`;
  }

  /**
   * The tap's output after `fromPosition` (0: from the start): SCHEMA, the records, a STATE after every
   * `stateEvery` records and after the last one.
   */
  *lines(fromPosition = 0): Generator<string> {
    yield this.schemaLine();
    const activate = this.tableVersion !== undefined ? JSON.stringify({ type: 'ACTIVATE_VERSION', stream: STREAM, version: this.tableVersion }) : undefined;
    if (activate && fromPosition === 0) yield activate;
    for (let p = fromPosition + 1; p <= this.records; p++) {
      yield this.recordLine(p);
      if (activate && p === this.records) yield activate;
      if (p % this.stateEvery === 0 || p === this.records) yield this.stateLine(p);
    }
  }

  /** Writes the whole stream to a file (buffered), returning its size in bytes. */
  writeFile(path: string, onProgress?: (position: number) => void): number {
    const fd = openSync(path, 'w');
    let size = 0;
    let chunk: string[] = [];
    let p = 0;
    try {
      for (const line of this.lines()) {
        chunk.push(line);
        if (chunk.length >= 2000) {
          size += writeSync(fd, chunk.join('\n') + '\n');
          chunk = [];
          p += 2000;
          if (onProgress && p % 100_000 === 0) onProgress(p);
        }
      }
      if (chunk.length > 0) size += writeSync(fd, chunk.join('\n') + '\n');
    } finally {
      closeSync(fd);
    }
    return size;
  }
}

/** Makes the record one the target must reject, each kind at a different stage. */
function breakRecord(record: Record<string, unknown>, kind: InvalidKind): void {
  switch (kind) {
    case 'direction-enum': // mapping: not in the direction map
      record.direction = 'sideways';
      break;
    case 'status-enum': // mapping: not a disposition Siro knows
      record.status = 'pending-review';
      record.opportunity_id ??= 'opp-broken';
      break;
    case 'address-zip-type': // stream schema: zip must be text (of at most 10 characters)
      record.zip = 'ZIP-CODE-UNKNOWN';
      break;
    case 'bad-timestamp': // mapping: not a date-time
      record.started_at = '2026-02-30 25:61';
      break;
    case 'bad-amount': // mapping: not a number
      record.amount = '1.200,50 EUR';
      record.opportunity_id ??= 'opp-broken';
      break;
  }
}
