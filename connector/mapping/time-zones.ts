import { IANAZone } from 'luxon';

/**
 * IANA time zones with fast offsets. Luxon answers a zone's offset through Intl (several µs a call); the
 * mapping needs it per record, so offsets are cached per UTC day: a day whose start and end share an
 * offset has no transition inside (zones change at most once a day), so every instant of it has that
 * offset; on the rare transition days the transition instant is found once and remembered.
 */

const DAY_MS = 86_400_000;
const MAX_CACHED_DAYS = 100_000;

export interface TimeZone {
  readonly name: string;
  /** Offset from UTC in minutes at an instant (ms since epoch). */
  offsetMinutes(ms: number): number;
}

export const UTC: TimeZone = { name: 'UTC', offsetMinutes: () => 0 };

/** A UTC day holding a transition: the offsets before and after, and the first instant of `after`. */
interface TransitionDay {
  before: number;
  after: number;
  at: number;
}

class CachedIanaZone implements TimeZone {
  private readonly days = new Map<number, number | TransitionDay>();
  constructor(
    readonly name: string,
    private readonly zone: IANAZone,
  ) {}

  offsetMinutes(ms: number): number {
    const day = Math.floor(ms / DAY_MS);
    let entry = this.days.get(day);
    if (entry === undefined) {
      entry = this.learnDay(day * DAY_MS);
      if (this.days.size >= MAX_CACHED_DAYS) this.days.clear();
      this.days.set(day, entry);
    }
    if (typeof entry === 'number') return entry;
    return ms < entry.at ? entry.before : entry.after;
  }

  /** The day's offset, or its transition (found by bisection to the minute: transitions fall on whole minutes). */
  private learnDay(start: number): number | TransitionDay {
    const before = this.zone.offset(start);
    const after = this.zone.offset(start + DAY_MS - 1);
    if (before === after) return before;
    let lo = start; // offset(lo) === before
    let hi = start + DAY_MS - 60_000; // first minute whose offset is `after` is at or before hi
    if (this.zone.offset(hi) !== after) hi = start + DAY_MS - 1;
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
      if (this.zone.offset(mid) === before) lo = mid;
      else hi = mid;
    }
    return { before, after, at: hi };
  }
}

const zones = new Map<string, TimeZone | null>();

/** The zone of an IANA name (e.g. `America/Chicago`, `UTC`), or undefined when the name is unknown. */
export function timeZoneNamed(name: string): TimeZone | undefined {
  let zone = zones.get(name);
  if (zone === undefined) {
    zone = IANAZone.isValidZone(name) ? new CachedIanaZone(name, IANAZone.create(name)) : null;
    zones.set(name, zone);
  }
  return zone ?? undefined;
}

/** Every IANA zone name this runtime knows (for did-you-mean hints). */
export function knownTimeZones(): string[] {
  return Intl.supportedValuesOf('timeZone');
}

/**
 * The instant of a wall-clock time (given as ms as if it were UTC) in a zone. The offsets a day before and
 * a day after give at most two candidates; a candidate is real when the zone has that offset at it.
 * Ambiguous times (DST overlap, e.g. 01:30 on a fall-back night) take the earlier instant; times skipped by
 * a DST gap (02:30 on a spring-forward night) are read with the offset before the gap, which moves them
 * forward by the gap (to 03:30).
 */
export function wallToInstant(localMs: number, zone: TimeZone): number {
  if (zone === UTC) return localMs;
  const before = zone.offsetMinutes(localMs - DAY_MS);
  const after = zone.offsetMinutes(localMs + DAY_MS);
  const early = localMs - before * 60_000;
  if (before === after) return early;
  const late = localMs - after * 60_000;
  const earlyReal = zone.offsetMinutes(early) === before;
  const lateReal = zone.offsetMinutes(late) === after;
  if (earlyReal && lateReal) return Math.min(early, late);
  if (earlyReal) return early;
  if (lateReal) return late;
  return early;
}

/** The wall-clock time (as ms as if it were UTC) of an instant in a zone. */
export function instantToWall(ms: number, zone: TimeZone): number {
  return zone === UTC ? ms : ms + zone.offsetMinutes(ms) * 60_000;
}
