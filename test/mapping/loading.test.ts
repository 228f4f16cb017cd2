import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMappings } from '../../connector/mapping/index.js';
import { packageRoot } from '../../connector/core/paths.js';
import { mappingText, payloadOf, record, tempFile, tempFolder } from './helpers.js';

const stream = (name: string, object = 'engagement') => `  ${name}:\n    object: ${object}\n    fields: { externalId: id }\n`;

describe('loading', () => {
  it('loads every *.yml / *.yaml of a folder in name order, not its subfolders or other files', () => {
    const dir = tempFolder({
      'b.yaml': `version: 1\nstreams:\n${stream('"*-calls"', 'opportunity')}`,
      'a.yml': `version: 1\nstreams:\n${stream('"crm-*"')}`,
      'notes.md': 'not yaml',
      'examples/c.yml': `version: 1\nstreams:\n${stream('public-calls')}`,
      'examples/broken.yml': 'version: [',
    });
    const set = loadMappings(dir);
    expect(set.files).toEqual([join(dir, 'a.yml'), join(dir, 'b.yaml')]);
    // Both globs match `crm-calls`: the first in load order (a.yml) wins.
    expect(set.forStream('crm-calls')?.pattern).toBe('crm-*');
    expect(set.forStream('public-calls')?.object).toBe('opportunity');
    expect(set.forStream('public-call')).toBeUndefined();
  });

  it('loads a single file; an exact stream name wins over a glob written before it', () => {
    const file = tempFile(`version: 1\nstreams:\n${stream('"*-calls"', 'opportunity')}${stream('public-calls')}${stream('call-?')}`);
    const set = loadMappings(file);
    expect(set.files).toEqual([file]);
    const exact = set.forStream('public-calls')!;
    expect([exact.pattern, exact.object, exact.source]).toEqual(['public-calls', 'engagement', `${file}:6`]);
    expect(set.forStream('other-calls')?.source).toBe(`${file}:3`);
    expect(set.forStream('call-1')?.pattern).toBe('call-?');
    expect(set.forStream('call-12')).toBeUndefined();
    // Globs match whole names, and regex characters in them are plain characters.
    expect(set.forStream('public-calls-archive')).toBeUndefined();
    expect(set.forStream('public-calls')).toBe(exact); // cached
  });

  it('resolves YAML anchors and aliases', () => {
    const file = tempFile(`version: 1\nstreams:\n  a: &shared\n    object: engagement\n    fields: { externalId: id, subject: { value: Shared } }\n  b: *shared\n`);
    expect(payloadOf(loadMappings(file).forStream('b')!.map({ id: 1 }))).toEqual({ externalId: '1', subject: 'Shared' });
  });
});

describe('the example of the language reference', () => {
  const example = `
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
  `;

  it('maps a tap-postgres row', () => {
    const m = loadMappings(tempFile(mappingText(example).replace('  s:', '  public-calls:'))).forStream('public-calls')!;
    const row = record(`{
      "id": 12345678901234567890, "call_type": "Discovery", "contact_name": "Ann Lee", "notes": "Asked for a quote",
      "dir": "Out", "started_at": "2026-03-04T20:00:00.123456+00:00", "tz": "America/Chicago",
      "ended_at": "2026-03-04 14:45:00", "_sdc_deleted_at": null, "kind": "VISIT",
      "account_id": 501, "account_name": "Acme", "street": "1 Main St", "city": "Austin", "state": "TX", "zip": "78701",
      "country": null, "phone": "+1 512 555 0100", "mobile": "",
      "attendees": "[{\\"id\\": 7, \\"email\\": \\"rep@acme.test\\", \\"name\\": \\"Rep One\\"}]",
      "opportunity_id": "D-9", "amount": "1234.56"
    }`);
    expect(m.map(row)).toEqual({
      ok: true,
      externalId: '12345678901234567890',
      payload: {
        externalId: '12345678901234567890',
        subject: 'Discovery with Ann Lee',
        content: 'Asked for a quote',
        direction: 'OUTBOUND',
        startTime: '2026-03-04T20:00:00.123Z',
        startTimeLocalized: '2026-03-04T14:00:00',
        endTime: '2026-03-04T20:45:00.000Z',
        deletedAt: null,
        engagementType: { name: 'Sales call', activityType: 'APPOINTMENT' },
        account: {
          externalId: '501',
          name: 'Acme',
          addresses: [{ street: '1 Main St', city: 'Austin', state: 'TX', zip: '78701', country: 'US' }],
          phoneNumbers: ['+1 512 555 0100'],
        },
        engagementUsers: [{ externalId: '7', email: 'rep@acme.test', name: 'Rep One' }],
        opportunity: { externalId: 'D-9', amount: 1234.56 },
      },
    });
  });
});

describe('mappings/default.yml', () => {
  const set = loadMappings(join(packageRoot, 'mappings'));

  it('is the only file loaded from the shipped folder, and names calls and appointments streams', () => {
    expect(set.files).toEqual([join(packageRoot, 'mappings', 'default.yml')]);
    expect(set.forStream('public-calls')?.pattern).toBe('public-calls');
    expect(set.forStream('sales-calls')?.pattern).toBe('*-calls');
    expect(set.forStream('public-appointments')?.pattern).toBe('public-appointments');
    expect(set.forStream('crm-appointments')?.pattern).toBe('*-appointments');
  });

  it('maps a calls row', () => {
    const row = {
      id: 42,
      call_type: 'Discovery',
      notes: 'Left a voicemail',
      direction: 'inbound',
      started_at: '2026-03-04 14:00:00',
      ended_at: '2026-03-04 14:20:00',
      timezone: 'America/Chicago',
      status: 'Open',
      account_id: 'A-1',
      account_name: 'Acme',
      street: '1 Main St',
      city: 'Austin',
      state: 'TX',
      zip: '78701',
      country: null,
      phone: '512-555-0100',
      rep_id: 'R-7',
      rep_email: 'rep@acme.test',
      rep_name: 'Rep One',
      opportunity_id: 'D-9',
      amount: 1500,
      created_at: '2026-03-01T10:00:00+00:00',
      updated_at: '2026-03-05T10:00:00+00:00',
      _sdc_deleted_at: null,
    };
    expect(payloadOf(set.forStream('public-calls')!.map(row))).toEqual({
      externalId: 'call-42',
      subject: 'Discovery call with Acme',
      content: 'Left a voicemail',
      direction: 'INBOUND',
      startTime: '2026-03-04T20:00:00.000Z',
      startTimeLocalized: '2026-03-04T14:00:00',
      endTime: '2026-03-04T20:20:00.000Z',
      remoteCreatedAt: '2026-03-01T10:00:00.000Z',
      remoteUpdatedAt: '2026-03-05T10:00:00.000Z',
      deletedAt: null,
      engagementType: { name: 'Discovery', activityType: 'CALL' },
      account: {
        externalId: 'A-1',
        name: 'Acme',
        addresses: [{ street: '1 Main St', city: 'Austin', state: 'TX', zip: '78701', country: 'US' }],
        phoneNumbers: ['512-555-0100'],
      },
      engagementUsers: [{ externalId: 'R-7', email: 'rep@acme.test', name: 'Rep One' }],
      opportunity: { externalId: 'D-9', amount: 1500, disposition: 'OPEN' },
    });
  });

  it('maps a sparse appointments row', () => {
    // As a tap sends it: every column present, most of them null.
    const row = {
      id: 'apt-1', subject: 'Roof inspection', kind: 'Inspection', started_at: '2026-06-01T15:00:00Z', timezone: 'America/Denver', _sdc_deleted_at: '2026-06-02T00:00:00Z',
      notes: null, ended_at: null, created_at: null, updated_at: null, account_id: null, account_name: null, street: null, city: null, state: null, zip: null,
      country: null, phone: null, rep_id: null, rep_email: null, rep_name: null, opportunity_id: null, amount: null, status: null,
    };
    expect(payloadOf(set.forStream('public-appointments')!.map(row))).toEqual({
      externalId: 'appointment-apt-1',
      subject: 'Roof inspection',
      content: null,
      startTime: '2026-06-01T15:00:00.000Z',
      startTimeLocalized: '2026-06-01T09:00:00',
      endTime: null,
      remoteCreatedAt: null,
      remoteUpdatedAt: null,
      deletedAt: '2026-06-02T00:00:00.000Z',
      engagementType: { name: 'Inspection', activityType: 'APPOINTMENT' },
    });
  });
});
