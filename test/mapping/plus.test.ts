import { describe, expect, it } from 'vitest';
import { loadErrors, mappingText, payloadOf, reasonsOf, record, streamOf, tempFile } from './helpers.js';

/** `plus`: an end time from a start and a duration column (issue: "a datetime plus a duration column"). */
describe('a time plus a duration', () => {
  const mapping = streamOf(`
    externalId: { column: id, type: string }
    startTime: { column: started_at, type: datetime, timezone: America/Phoenix }
    endTime: { column: started_at, type: datetime, timezone: America/Phoenix, plus: { column: duration_seconds, unit: seconds } }
    startTimeLocalized: { column: started_at, type: localdatetime, timezone: America/Chicago, plus: { column: wait_ms, unit: milliseconds } }
  `);

  it('adds the duration exactly to the millisecond, also with a duration of 0 and with microsecond input', () => {
    const p = payloadOf(mapping.map(record('{"id":1,"started_at":"2026-01-11T18:15:39.630703+00:00","duration_seconds":0,"wait_ms":1}')));
    expect(p.startTime).toBe('2026-01-11T18:15:39.630Z');
    expect(p.endTime).toBe('2026-01-11T18:15:39.630Z');
    expect(p.startTimeLocalized).toBe('2026-01-11T12:15:39');
    const q = payloadOf(mapping.map(record('{"id":2,"started_at":"2026-01-11T18:15:39.630Z","duration_seconds":"90.5","wait_ms":null}')));
    expect(q.endTime).toBe('2026-01-11T18:17:10.130Z');
    expect(q.startTimeLocalized).toBeNull();
  });

  it('reads a naive start in its zone, then adds elapsed time (exact across a DST change)', () => {
    const p = payloadOf(mapping.map(record('{"id":3,"started_at":"2026-11-01 01:30:00","duration_seconds":3600}')));
    expect(p.startTime).toBe('2026-11-01T08:30:00.000Z'); // Phoenix has no DST: UTC-7
    expect(p.endTime).toBe('2026-11-01T09:30:00.000Z');
    const chicago = streamOf(`
      externalId: { column: id, type: string }
      endTime: { column: started_at, type: datetime, timezone: America/Chicago, plus: { column: minutes, unit: minutes } }
    `);
    // 01:30 CDT + 60 minutes of elapsed time is 01:30 CST (the clock fell back in between).
    expect(payloadOf(chicago.map(record('{"id":4,"started_at":"2026-11-01 01:30:00","minutes":60}'))).endTime).toBe('2026-11-01T07:30:00.000Z');
  });

  it('gives no end time when either side is null, leaves it out when a column is missing, and rejects a duration that is no number', () => {
    expect(payloadOf(mapping.map(record('{"id":5,"started_at":null,"duration_seconds":300}'))).endTime).toBeNull();
    expect(payloadOf(mapping.map(record('{"id":6,"started_at":"2026-01-11T18:15:39Z","duration_seconds":null}'))).endTime).toBeNull();
    expect(payloadOf(mapping.map(record('{"id":7,"started_at":"2026-01-11T18:15:39Z"}')))).not.toHaveProperty('endTime');
    expect(reasonsOf(mapping.map(record('{"id":8,"started_at":"2026-01-11T18:15:39Z","duration_seconds":"soon"}')))).toEqual([
      'endTime: duration "soon" of column "duration_seconds" is not a number of seconds',
    ]);
  });

  it('is checked when the mapping loads: a unit is required, and plus needs a date/time type', () => {
    const errors = (fields: string) => loadErrors(tempFile(mappingText(fields))).map((e) => e.replace(/^.*?:(\d+:\d+): /, '$1: '));
    expect(errors(`
      externalId: id
      endTime: { column: started_at, type: datetime, plus: { column: duration_seconds } }
    `)).toEqual(['7:60: `endTime`: plus needs a `unit` (milliseconds, seconds, minutes, hours): a duration column does not say its unit']);
    expect(errors(`
      externalId: id
      endTime: { column: started_at, type: datetime, plus: { column: duration_seconds, unit: second } }
    `)).toEqual([expect.stringMatching(/^7:\d+: `endTime`: unknown unit `second` \(did you mean `seconds`\?\); units: milliseconds, seconds, minutes, hours$/)]);
    expect(errors(`
      externalId: id
      subject: { column: title, plus: { column: n, unit: seconds } }
    `)).toEqual([expect.stringMatching(/^7:\d+: `subject`: `plus` adds a duration to a date\/time: it applies to type datetime or localdatetime \(this leaf reads string\)$/)]);
  });
});
