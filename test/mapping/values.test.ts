import { DateTime, IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import { instantToWall, timeZoneNamed, wallToInstant } from '../../connector/mapping/time-zones.js';
import { payloadOf, reasonsOf, record, streamOf } from './helpers.js';

describe('types', () => {
  const opp = streamOf(`
    externalId: id
    opportunity:
      externalId: { value: o1 }
      name: { column: v, type: string }
      amount: { column: n, type: number }
      closedAt: { column: i, type: integer }
      copyEngagementRelationships: { column: b, type: boolean }
  `);
  const field = (r: Record<string, unknown>, key: string) => (payloadOf(opp.map({ id: 1, ...r })).opportunity as Record<string, unknown>)[key];

  it('number: numbers, numeric text and bigints', () => {
    expect(field({ n: 12.5 }, 'amount')).toBe(12.5);
    expect(field({ n: '1234.56' }, 'amount')).toBe(1234.56);
    expect(field({ n: ' -7 ' }, 'amount')).toBe(-7);
    expect(field({ n: '1e3' }, 'amount')).toBe(1000);
    expect(field({ n: 12345678901234567890n }, 'amount')).toBe(12345678901234567000);
    expect(reasonsOf(opp.map({ id: 1, n: '12abc' }))).toEqual(['opportunity.amount: value "12abc" of column "n" is not a number']);
    expect(reasonsOf(opp.map({ id: 1, n: true }))).toEqual(['opportunity.amount: value true of column "n" is not a number']);
    // Beyond a double's range: rejected, never sent as null (what JSON makes of Infinity).
    expect(reasonsOf(opp.map({ id: 1, n: '1e400' }))).toEqual(['opportunity.amount: value "1e400" of column "n" is not a number']);
    expect(reasonsOf(opp.map({ id: 1, n: 10n ** 400n }))).toHaveLength(1);
  });

  it('integer: integral numbers only; kept exact when the field is text', () => {
    expect(field({ i: '42' }, 'closedAt')).toBe('42');
    expect(field({ i: 42.0 }, 'closedAt')).toBe('42');
    expect(field({ i: 12345678901234567890n }, 'closedAt')).toBe('12345678901234567890');
    expect(field({ i: '12345678901234567890' }, 'closedAt')).toBe('12345678901234567890');
    expect(reasonsOf(opp.map({ id: 1, i: '12.5' }))).toEqual(['opportunity.closedAt: value "12.5" of column "i" is not an integer']);
  });

  it('boolean: true/false, t/f, yes/no, 1/0 in any case', () => {
    const yes = [true, 'true', 'TRUE', 't', 'yes', 'Yes', 1, '1', 1n];
    const no = [false, 'false', 'f', 'F', 'no', 0, '0', 0n];
    for (const b of yes) expect([b, field({ b }, 'copyEngagementRelationships')]).toEqual([b, true]);
    for (const b of no) expect([b, field({ b }, 'copyEngagementRelationships')]).toEqual([b, false]);
    expect(reasonsOf(opp.map({ id: 1, b: 'maybe' }))).toEqual([
      'opportunity.copyEngagementRelationships: value "maybe" of column "b" is not a boolean (true/false, t/f, yes/no, 1/0)',
    ]);
    expect(reasonsOf(opp.map({ id: 1, b: 2 }))).toHaveLength(1);
  });

  it('string: numbers and bigints exactly, objects and lists as JSON text', () => {
    expect(field({ v: 1.5 }, 'name')).toBe('1.5');
    expect(field({ v: 12345678901234567890n }, 'name')).toBe('12345678901234567890');
    expect(field({ v: false }, 'name')).toBe('false');
    expect(field(record('{"v": {"a": [1, 98765432109876543210]}}'), 'name')).toBe('{"a":[1,98765432109876543210]}');
  });

  it("without a type, Siro's field type decides", () => {
    const m = streamOf(`
      externalId: id
      opportunity:
        externalId: oid
        name: v
        amount: n
        copyEngagementRelationships: b
    `);
    expect(payloadOf(m.map({ id: 3.5, oid: 7, v: 10, n: '99.5', b: 'yes' }))).toEqual({
      externalId: '3.5',
      opportunity: { externalId: '7', name: '10', amount: 99.5, copyEngagementRelationships: true },
    });
    expect(reasonsOf(m.map({ id: 1, n: 'lots' }))).toEqual(['opportunity.amount: value "lots" of column "n" is not a number']);
  });

  it('externalId is always text, big integers exactly', () => {
    const m = streamOf(`
      externalId: id
      account: { externalId: acct }
      engagementUsers: [{ externalId: rep }]
    `);
    const r = record('{"id": 12345678901234567890, "acct": 18446744073709551615, "rep": 42}');
    const result = m.map(r);
    expect(result).toEqual({
      ok: true,
      externalId: '12345678901234567890',
      payload: { externalId: '12345678901234567890', account: { externalId: '18446744073709551615' }, engagementUsers: [{ externalId: '42' }] },
    });
  });
});

describe('datetime', () => {
  const m = streamOf(`
    externalId: id
    startTime: { column: t, type: datetime }
    endTime: { column: t, type: datetime, timezone: America/Chicago }
    startTimeLocalized: { column: t, type: localdatetime, timezone: { column: tz } }
    remoteCreatedAt: { column: t, type: date, timezone: { column: tz, default: America/New_York } }
  `);
  const map = (t: unknown, tz: unknown = null) => payloadOf(m.map({ id: 1, t, tz }));
  const utc = (t: unknown) => map(t).startTime;

  it('reads ISO-8601 with an offset, in any precision', () => {
    expect(utc('2026-03-04T20:00:00Z')).toBe('2026-03-04T20:00:00.000Z');
    expect(utc('2026-03-04T20:00:00.123456+00:00')).toBe('2026-03-04T20:00:00.123Z');
    expect(utc('2026-03-04T14:00:00-06:00')).toBe('2026-03-04T20:00:00.000Z');
    expect(utc('2026-03-05T01:30:00.5+0530')).toBe('2026-03-04T20:00:00.500Z');
    expect(utc('2026-03-04 20:00:00+00')).toBe('2026-03-04T20:00:00.000Z');
    expect(utc('2026-03-04t20:00z')).toBe('2026-03-04T20:00:00.000Z');
  });

  it('reads naive values (T or space, optional fraction, date only) in the timezone, UTC by default', () => {
    expect(utc('2026-03-04 20:00:00')).toBe('2026-03-04T20:00:00.000Z');
    expect(utc('2026-03-04T20:00:00.987654')).toBe('2026-03-04T20:00:00.987Z');
    expect(utc('2026-03-04')).toBe('2026-03-04T00:00:00.000Z');
    expect(map('2026-03-04 14:00:00').endTime).toBe('2026-03-04T20:00:00.000Z'); // CST, UTC-6
    expect(map('2026-07-04 14:00:00').endTime).toBe('2026-07-04T19:00:00.000Z'); // CDT, UTC-5
    expect(map('2026-03-04').endTime).toBe('2026-03-04T06:00:00.000Z');
    expect(map('2026-03-04T14:00:00-06:00').endTime).toBe('2026-03-04T20:00:00.000Z'); // an offset wins over the zone
  });

  it('reads epoch seconds and milliseconds (ms above 1e11), as numbers, digit text or bigints', () => {
    expect(utc(1772654400)).toBe('2026-03-04T20:00:00.000Z');
    expect(utc(1772654400123)).toBe('2026-03-04T20:00:00.123Z');
    expect(utc('1772654400')).toBe('2026-03-04T20:00:00.000Z');
    expect(utc('1772654400123')).toBe('2026-03-04T20:00:00.123Z');
    expect(utc(1772654400n)).toBe('2026-03-04T20:00:00.000Z');
    expect(utc(1.5)).toBe('1970-01-01T00:00:01.500Z');
  });

  it('falls back to luxon for other ISO-8601, SQL and RFC 2822 forms', () => {
    expect(utc('20260304T200000Z')).toBe('2026-03-04T20:00:00.000Z');
    expect(utc('2026-W10-3T20:00:00Z')).toBe('2026-03-04T20:00:00.000Z');
    expect(utc('Wed, 04 Mar 2026 20:00:00 +0000')).toBe('2026-03-04T20:00:00.000Z');
    expect(utc('2026-03-04 14:00:00 America/Chicago')).toBe('2026-03-04T20:00:00.000Z');
    expect(map('2026-063').endTime).toBe('2026-03-04T06:00:00.000Z'); // naive ordinal date: read in the zone
  });

  it('rejects values that are not date/times, naming field and value', () => {
    expect(reasonsOf(m.map({ id: 1, t: 'soon' }))).toContain(
      'startTime: value "soon" of column "t" is not a datetime (ISO-8601, "YYYY-MM-DD HH:mm:ss", a date, or epoch seconds/milliseconds)',
    );
    for (const bad of ['2026-02-29', '2026-13-01', '2026-03-04T25:00:00', '2026-03-04T20:00:00+25:00', true, {}]) {
      expect([bad, m.map({ id: 1, t: bad }).ok]).toEqual([bad, false]);
    }
  });

  it('handles DST: gaps move forward, ambiguous times take the earlier instant', () => {
    // 2026-03-08 02:30 does not exist in Chicago (clocks jump 02:00 → 03:00): read as 03:30 CDT.
    expect(map('2026-03-08 02:30:00').endTime).toBe('2026-03-08T08:30:00.000Z');
    // 2026-11-01 01:30 happens twice (CDT, then CST): the first one.
    expect(map('2026-11-01 01:30:00').endTime).toBe('2026-11-01T06:30:00.000Z');
    expect(map('2026-11-01 02:30:00').endTime).toBe('2026-11-01T08:30:00.000Z');
    expect(map('2026-03-08 01:59:59').endTime).toBe('2026-03-08T07:59:59.000Z');
    expect(map('2026-03-08 03:00:00').endTime).toBe('2026-03-08T08:00:00.000Z');
  });

  it('localdatetime: a naive value as it is; an instant converted into the timezone', () => {
    expect(map('2026-03-04 14:00:00.999', 'America/Chicago').startTimeLocalized).toBe('2026-03-04T14:00:00');
    expect(map('2026-03-04', null).startTimeLocalized).toBe('2026-03-04T00:00:00');
    expect(map('2026-03-04T20:00:00Z', 'America/Chicago').startTimeLocalized).toBe('2026-03-04T14:00:00');
    expect(map('2026-07-04T20:00:00+00:00', 'America/Chicago').startTimeLocalized).toBe('2026-07-04T15:00:00');
    expect(map(1772654400000, 'Asia/Kolkata').startTimeLocalized).toBe('2026-03-05T01:30:00');
    expect(map('2026-03-04T20:00:00Z', null).startTimeLocalized).toBe('2026-03-04T20:00:00'); // no zone: UTC
    expect(map('2026-03-04T20:00:00Z', ' ').startTimeLocalized).toBe('2026-03-04T20:00:00');
  });

  it('rejects a record whose timezone column holds an unknown zone', () => {
    expect(reasonsOf(m.map({ id: 1, t: '2026-03-04T20:00:00Z', tz: 'Mars/Olympus' }))).toEqual([
      'startTimeLocalized: time zone "Mars/Olympus" of column "tz" is not an IANA time zone',
      'remoteCreatedAt: time zone "Mars/Olympus" of column "tz" is not an IANA time zone',
    ]);
  });

  it('date: the date of a naive value; of an instant, in the timezone (default from { default })', () => {
    expect(map('2026-03-04 23:30:00').remoteCreatedAt).toBe('2026-03-04');
    expect(map('2026-03-05T03:00:00Z').remoteCreatedAt).toBe('2026-03-04'); // New York by default
    expect(map('2026-03-05T03:00:00Z', 'Europe/Berlin').remoteCreatedAt).toBe('2026-03-05');
  });

  it('a date-time field of Siro (deletedAt) is read as datetime without a type', () => {
    const d = streamOf(`
      externalId: id
      deletedAt: _sdc_deleted_at
    `);
    expect(payloadOf(d.map({ id: 1, _sdc_deleted_at: '2026-03-04 20:00:00.123456+00' })).deletedAt).toBe('2026-03-04T20:00:00.123Z');
    expect(payloadOf(d.map({ id: 1, _sdc_deleted_at: null })).deletedAt).toBeNull();
  });
});

describe('time zones', () => {
  const zones = ['America/Chicago', 'Europe/Berlin', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/St_Johns', 'Pacific/Chatham', 'Asia/Tokyo'];

  it('cached offsets equal luxon at every hour and around every transition of 2026', () => {
    const mismatches: unknown[] = [];
    let transitionDays = 0;
    for (const name of zones) {
      const zone = timeZoneNamed(name)!;
      const luxon = IANAZone.create(name);
      const start = Date.UTC(2026, 0, 1);
      const check = (ms: number) => {
        if (zone.offsetMinutes(ms) !== luxon.offset(ms)) mismatches.push([name, new Date(ms).toISOString()]);
      };
      for (let ms = start; ms < Date.UTC(2027, 0, 1); ms += 3_600_000 + 60_000 * 7) check(ms);
      // Every minute of the days whose offset changes.
      for (let day = start; day < Date.UTC(2027, 0, 1); day += 86_400_000) {
        if (luxon.offset(day) === luxon.offset(day + 86_399_999)) continue;
        transitionDays++;
        for (let ms = day; ms < day + 86_400_000; ms += 60_000) check(ms);
      }
    }
    expect(mismatches).toEqual([]);
    expect(transitionDays).toBeGreaterThanOrEqual(8); // the zones with DST really were exercised
  });

  it('wall clock → instant agrees with luxon wherever the wall clock is unambiguous, and picks the earlier instant otherwise', () => {
    const wrong: unknown[] = [];
    let edges = 0;
    for (const name of zones) {
      const zone = timeZoneNamed(name)!;
      for (let wall = Date.UTC(2026, 0, 1); wall < Date.UTC(2027, 0, 1); wall += 15 * 60_000 * 7) {
        const mine = wallToInstant(wall, zone);
        const d = new Date(wall);
        const lux = DateTime.fromObject(
          { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes() },
          { zone: name },
        ).toMillis();
        if (mine === lux) continue;
        // Luxon resolves DST edge cases from the current date; outside them both must agree.
        edges++;
        const candidates = [-1, 1].map((s) => wall - zone.offsetMinutes(wall + s * 86_400_000) * 60_000).filter((t) => instantToWall(t, zone) === wall);
        const ok = candidates.length === 2 ? mine === Math.min(...candidates) : candidates.length === 0 && instantToWall(mine, zone) !== wall;
        if (!ok) wrong.push([name, d.toISOString(), new Date(mine).toISOString(), new Date(lux).toISOString()]);
      }
    }
    expect(wrong).toEqual([]);
    expect(edges).toBeLessThan(100);
  });

  it('knows IANA names and rejects others', () => {
    expect(timeZoneNamed('America/Chicago')).toBeDefined();
    expect(timeZoneNamed('UTC')).toBeDefined();
    expect(timeZoneNamed('America/Chicgo')).toBeUndefined();
  });
});
