import { describe, expect, it } from 'vitest';
import { parseExact } from '../../connector/singer/exact-json.js';
import { streamOf } from './helpers.js';

/**
 * The mapping runs for every record: a realistic ~15-field mapping (template, map, datetimes in time zones,
 * nested objects, a list, each over a JSON-text column) must map and validate well above 200k records/s on
 * one core. The assertion is a loose floor (CI machines are slow and shared); the rate is printed.
 */
describe('throughput', () => {
  it('maps and validates a realistic mapping fast', () => {
    const m = streamOf(`
      externalId: id
      subject: { template: "{{ call_type }} with {{ contact_name }}" }
      content: notes
      direction: { column: dir, map: { in: INBOUND, out: OUTBOUND } }
      startTime: { column: started_at, type: datetime }
      startTimeLocalized: { column: started_at, type: localdatetime, timezone: { column: tz } }
      endTime: { column: ended_at, type: datetime, timezone: America/Chicago }
      deletedAt: { column: _sdc_deleted_at, type: datetime }
      engagementType:
        name: { value: Sales call }
        activityType: { column: kind, map: { call: CALL, visit: APPOINTMENT }, default: CALL }
      account:
        externalId: account_id
        name: account_name
        addresses:
          - { street: street, city: city, state: state, zip: zip, country: { column: country, default: US } }
        phoneNumbers: [phone, mobile]
      engagementUsers:
        each: attendees
        fields: { externalId: id, email: email, name: name }
      opportunity:
        externalId: opportunity_id
        amount: { column: amount, type: number }
    `);
    const zones = ['America/Chicago', 'America/New_York', 'Europe/Berlin', null];
    const records: Record<string, unknown>[] = [];
    for (let i = 0; i < 20_000; i++) {
      // Deterministic spread over a year (no Math.random: the test must behave the same every run).
      const start = Date.UTC(2025, 0, 1) + ((i * 7919) % 365) * 86_400_000 + ((i * 104_729) % 86_400) * 1000;
      const line = JSON.stringify({
        id: 1_000_000 + i,
        call_type: 'Discovery',
        contact_name: `Ann ${i}`,
        notes: `note ${i}`,
        dir: i % 2 ? 'in' : 'OUT',
        started_at: new Date(start).toISOString().replace('Z', '+00:00'),
        tz: zones[i % 4],
        ended_at: new Date(start + 3_600_000).toISOString().slice(0, 19).replace('T', ' '),
        _sdc_deleted_at: null,
        kind: i % 3 ? 'call' : 'visit',
        account_id: 5000 + (i % 100),
        account_name: `Acme ${i % 100}`,
        street: '1 Main',
        city: 'Austin',
        state: 'TX',
        zip: '78701',
        country: i % 5 ? 'US' : null,
        phone: `555-${i}`,
        mobile: i % 2 ? '' : `556-${i}`,
        attendees: JSON.stringify([{ id: `u${i % 7}`, email: `rep${i % 7}@x.test`, name: 'Rep' }]),
        opportunity_id: i % 4 ? `o${i}` : null,
        amount: i % 4 ? String(i * 1.5) : null,
      });
      records.push(parseExact(line) as Record<string, unknown>);
    }
    let ok = 0;
    for (const r of records) if (m.map(r).ok) ok++; // warm-up
    const rounds = 5;
    const t0 = performance.now();
    for (let round = 0; round < rounds; round++) for (const r of records) if (m.map(r).ok) ok++;
    const perSecond = Math.round((rounds * records.length) / ((performance.now() - t0) / 1000));
    console.log(`mapping throughput: ${perSecond} records/s`);
    expect(ok).toBe(records.length * (rounds + 1));
    expect(perSecond).toBeGreaterThan(50_000);
  });
});
