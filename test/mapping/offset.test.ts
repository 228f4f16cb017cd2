import { describe, expect, it } from 'vitest';
import { loadErrors, mappingText, payloadOf, record, streamOf, tempFile } from './helpers.js';

/**
 * `offset: ignore`: a column of wall-clock times that a Postgres tap labelled `+00:00` (every real one does
 * so for `timestamp without time zone`) is read in the leaf's `timezone`, not as UTC.
 */
describe('offset: ignore (wall-clock times labelled +00:00)', () => {
  const mapping = streamOf(`
    externalId: { column: id, type: string }
    startTime: { column: starts_at, type: datetime, timezone: { column: tz }, offset: ignore }
    startTimeLocalized: { column: starts_at, type: localdatetime, timezone: { column: tz }, offset: ignore }
    endTime: { column: starts_at, type: datetime, timezone: { column: tz }, offset: ignore, plus: { column: minutes, unit: minutes } }
    remoteUpdatedAt: { column: updated_at, type: datetime }
  `);
  const row = (starts: string, tz: string, minutes = 30) =>
    payloadOf(mapping.map(record(JSON.stringify({ id: 1, starts_at: starts, tz, minutes, updated_at: '2026-03-08T13:00:00+00:00' }))));

  it('reads the labelled time in the zone: a Phoenix 13:00 appointment is 20:00Z, shown as 13:00, once', () => {
    const p = row('2026-03-08T13:00:00.000000+00:00', 'America/Phoenix');
    expect(p.startTime).toBe('2026-03-08T20:00:00.000Z');
    expect(p.startTimeLocalized).toBe('2026-03-08T13:00:00');
    expect(p.endTime).toBe('2026-03-08T20:30:00.000Z');
    // A leaf without the option keeps the offset: this one is a real UTC instant.
    expect(p.remoteUpdatedAt).toBe('2026-03-08T13:00:00.000Z');
  });

  it('across a DST change: the same wall clock before and after spring-forward and fall-back, in every form taps write', () => {
    // New York springs forward on 2026-03-08 at 02:00 and falls back on 2026-11-01 at 02:00.
    expect(row('2026-03-07T09:00:00+00:00', 'America/New_York').startTime).toBe('2026-03-07T14:00:00.000Z'); // EST
    expect(row('2026-03-09 09:00:00+00', 'America/New_York').startTime).toBe('2026-03-09T13:00:00.000Z'); // EDT (wal2json form)
    expect(row('2026-03-08T02:30:00Z', 'America/New_York').startTime).toBe('2026-03-08T07:30:00.000Z'); // in the gap: as if not yet jumped
    expect(row('2026-11-01T01:30:00.000000+00:00', 'America/New_York').startTime).toBe('2026-11-01T05:30:00.000Z'); // twice: the earlier
    // The end is start + elapsed minutes across the change: 01:30 EDT + 60 min = 01:30 EST.
    expect(row('2026-11-01T01:30:00+00:00', 'America/New_York', 60).endTime).toBe('2026-11-01T06:30:00.000Z');
    // An unlabelled (naive) value reads the same way; an epoch number is an instant and stays one.
    expect(row('2026-03-09 09:00:00', 'America/New_York').startTime).toBe('2026-03-09T13:00:00.000Z');
    expect(payloadOf(mapping.map(record('{"id":2,"starts_at":1773064800000,"tz":"America/New_York","minutes":0}'))).startTime).toBe('2026-03-09T14:00:00.000Z');
  });

  it('is checked when the mapping loads: only ignore or keep, only on date/time leaves', () => {
    const errors = (fields: string) => loadErrors(tempFile(mappingText(fields))).map((e) => e.replace(/^.*?:(\d+:\d+): /, '$1: '));
    expect(errors(`
      externalId: id
      startTime: { column: s, type: datetime, timezone: UTC, offset: ignored }
    `)).toEqual([expect.stringMatching(/^7:\d+: `startTime`: offset takes `ignore` .* or `keep` \(the default\), not `ignored` \(did you mean `ignore`\?\)$/)]);
    expect(errors(`
      externalId: id
      subject: { column: title, offset: ignore }
    `)).toEqual([expect.stringMatching(/^7:\d+: `subject`: `offset` only applies to type datetime, localdatetime or date \(this leaf reads string\)$/)]);
  });
});
