import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTargetCli, stateLines } from '../support/cli.js';
import { exampleInput, exampleMapping, operatorConfig } from './helpers.js';
import { jsonLines, parseJsonLines } from '../support/json-lines.js';

/**
 * The ready-made mappings in mappings/examples/, each fed a realistic Singer stream of the tap it is for
 * (test/fixtures/examples/) through the built CLI in dry-run mode.
 */
async function dryRun(name: string, input = name) {
  const { dir, path } = operatorConfig({ mappings: exampleMapping(name), ledger: false, dry_run: true });
  const out = join(dir, 'payloads.jsonl');
  const r = await runTargetCli(['--config', path, '--input', exampleInput(input), '--dry-run-output', out]);
  // Every stream of the input has a mapping: none is skipped.
  expect(r.stderr).toMatch(/"skipped":0,/);
  expect(r.stderr).not.toMatch(/"skipped":[1-9]|no mapping names/);
  expect(r.code, r.stderr).toBe(0);
  const payloads = parseJsonLines<any>(readFileSync(out, 'utf8'));
  // Every row has its start, and no end before it.
  for (const p of payloads) {
    expect(p.startTime, JSON.stringify(p)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    if (p.endTime != null) expect(p.endTime >= p.startTime, JSON.stringify(p)).toBe(true);
  }
  const rejects = jsonLines<{ key: string; reasons: string[] }>(join(dir, 'rejects.jsonl')); // no file: nothing was rejected
  return { payloads, rejects, states: stateLines(r.stdout) };
}

describe('example mappings', () => {
  // MeltanoLabs tap-postgres names streams `public-calls`; singer-io and pipelinewise tap-postgres `calls`
  // (and write draft-04 schemas). Both write the appointments' `timestamp without time zone` as +00:00.
  it.each([['public-calls', 'postgres-calls'], ['calls', 'postgres-calls-singer-io']])('postgres-calls.yml: the streams named %s', async (_name, input) => {
    const { payloads, rejects, states } = await dryRun('postgres-calls', input);
    expect(payloads).toEqual([
      {
        externalId: '9007199254740993',
        subject: 'Call with Brooks Residence',
        content: 'Walked through the proposal; customer wants a second quote.',
        direction: 'OUTBOUND',
        startTime: '2026-04-02T15:04:05.250Z',
        endTime: '2026-04-02T15:09:17.250Z', // start + 312 s, exact to the millisecond
        remoteCreatedAt: '2026-04-02T15:04:05.000Z',
        remoteUpdatedAt: '2026-04-02T15:10:00.000Z',
        deletedAt: null,
        engagementType: { name: 'Connected call', activityType: 'CALL' },
        account: { externalId: 'C-2041', name: 'Brooks Residence', phoneNumbers: ['+1 303 555 0142'] },
        engagementUsers: [{ externalId: '17', email: 'maya.chen@sunpath.example', name: 'Maya Chen' }],
        opportunity: { externalId: 'D-881', amount: 23450.5, disposition: 'OPEN' },
      },
      {
        externalId: '5002',
        subject: 'Call with Brooks Residence',
        content: null,
        direction: 'INBOUND',
        startTime: '2026-04-02T15:04:05.250Z',
        endTime: null,
        remoteCreatedAt: '2026-04-02T15:04:05.000Z',
        remoteUpdatedAt: '2026-04-05T08:00:00.000Z',
        deletedAt: '2026-04-05T08:00:00.000Z',
        engagementType: { name: 'Voicemail', activityType: 'CALL' },
        account: { externalId: 'C-2041', name: 'Brooks Residence' },
        engagementUsers: [{ externalId: '17', email: 'maya.chen@sunpath.example', name: 'Maya Chen' }],
      },
      {
        externalId: '0b9f6c1e-6c0e-4c57-9d1e-3f2a9a7d5e11',
        subject: 'Roof inspection',
        content: 'Check south-facing roof for panel fit',
        startTime: '2026-04-10T15:30:00.000Z',
        startTimeLocalized: '2026-04-10T09:30:00',
        endTime: '2026-04-10T16:30:00.000Z',
        remoteCreatedAt: '2026-04-02T15:20:00.000Z',
        remoteUpdatedAt: '2026-04-02T15:20:00.000Z',
        deletedAt: null,
        engagementType: { name: 'Site visit', activityType: 'APPOINTMENT' },
        account: {
          externalId: 'C-2041',
          name: 'Brooks Residence',
          addresses: [{ street: '1450 Larimer St', city: 'Denver', state: 'CO', zip: '80202', country: 'US' }],
          phoneNumbers: ['+1 303 555 0142'],
        },
        engagementUsers: [{ externalId: 'U-17', email: 'maya.chen@sunpath.example', name: 'Maya Chen' }],
        opportunity: { externalId: 'D-881' },
      },
      {
        externalId: '7d3c2b1a-0000-4000-8000-000000000002',
        subject: 'Video consultation',
        content: null,
        startTime: '2026-04-11T19:00:00.000Z',
        startTimeLocalized: '2026-04-11T14:00:00',
        endTime: '2026-04-11T19:45:00.000Z',
        remoteCreatedAt: '2026-04-03T10:00:00.000Z',
        remoteUpdatedAt: '2026-04-03T10:00:00.000Z',
        deletedAt: null,
        engagementType: { name: 'Virtual meeting', activityType: 'MEETING' },
        account: { externalId: 'C-3310', name: 'Ortiz Bakery' },
      },
    ]);
    expect(rejects.map((r) => [r.key, r.reasons])).toEqual([['id=5003', ['direction: value "sideways" of column "direction" is not one of INBOUND, OUTBOUND']]]);
    expect(states).toHaveLength(2);
  });

  it('salesforce-event.yml: tap-salesforce Event records', async () => {
    const { payloads, rejects } = await dryRun('salesforce-event');
    expect(rejects).toEqual([]);
    const common = {
      remoteCreatedAt: '2026-05-01T12:00:00.000Z',
      remoteUpdatedAt: '2026-05-02T09:30:00.000Z',
      engagementUsers: [{ externalId: '005Dn00000Own01IAA' }],
    };
    expect(payloads).toEqual([
      {
        externalId: '00UDn00000Ev001MAA',
        subject: 'Proposal review',
        content: 'Go through pricing options with the homeowner.',
        startTime: '2026-05-06T18:00:00.000Z',
        startTimeLocalized: '2026-05-06T14:00:00',
        endTime: '2026-05-06T19:00:00.000Z',
        deletedAt: null,
        engagementType: { name: 'Meeting', activityType: 'MEETING' },
        account: { externalId: '001Dn00000Qw3rTIAR' },
        // WhatId 006… is an Opportunity, WhoId 003… a Contact.
        opportunity: { externalId: '006Dn00000AbCdEIAZ' },
        contact: { externalId: '003Dn00000XyZ12IAB' },
        ...common,
      },
      {
        externalId: '00UDn00000Ev002MAA',
        subject: 'Intro call',
        content: null,
        startTime: '2026-05-06T18:00:00.000Z',
        startTimeLocalized: '2026-05-06T14:00:00',
        endTime: '2026-05-06T19:00:00.000Z',
        // IsDeleted: soft-deleted at SystemModstamp.
        deletedAt: '2026-05-03T10:00:00.000Z',
        engagementType: { name: 'Call', activityType: 'CALL' },
        account: { externalId: '001Dn00000Qw3rTIAR' },
        // WhatId is an Account (no opportunity), WhoId 00Q… a Lead.
        lead: { externalId: '00QDn00000Ld001IAA' },
        ...common,
      },
      {
        externalId: '00UDn00000Ev003MAA',
        subject: 'Trade show',
        content: 'Booth 14, bring brochures',
        startTime: '2026-05-08T00:00:00.000Z',
        // All-day: the day itself, not the evening before in New York.
        startTimeLocalized: '2026-05-08T00:00:00',
        endTime: '2026-05-09T00:00:00.000Z',
        deletedAt: null,
        engagementType: { name: 'Meeting', activityType: 'MEETING' },
        ...common,
      },
    ]);
  });

  it('hubspot-meetings.yml: MeltanoLabs tap-hubspot meetings (no associations; hs_timestamp where the start is empty)', async () => {
    const { payloads, rejects } = await dryRun('hubspot-meetings');
    expect(rejects).toEqual([]);
    expect(payloads).toEqual([
      {
        externalId: '51234',
        subject: 'Discovery: Lakeside HOA',
        content: 'Agenda:\nBudget\nTimeline',
        startTime: '2026-06-02T16:00:00.000Z',
        startTimeLocalized: '2026-06-02T12:00:00',
        endTime: '2026-06-02T16:45:00.000Z',
        remoteCreatedAt: '2026-05-30T10:00:00.000Z',
        remoteUpdatedAt: '2026-06-02T17:00:00.000Z',
        engagementType: { name: 'Discovery', activityType: 'MEETING' },
        engagementUsers: [{ externalId: '88123401' }],
      },
      {
        externalId: '51235',
        subject: 'Follow-up',
        content: null,
        startTime: '2026-06-05T13:30:00.000Z',
        startTimeLocalized: '2026-06-05T09:30:00',
        endTime: null,
        remoteCreatedAt: '2026-06-01T08:00:00.000Z',
        remoteUpdatedAt: '2026-06-04T08:00:00.000Z',
        engagementType: { name: 'Meeting', activityType: 'MEETING' },
      },
      {
        // Created through an integration: no hs_meeting_start_time, so hs_timestamp; the body's entities decoded.
        externalId: '51299',
        subject: 'Booked via scheduling app',
        content: 'Customer asked: "Can we do Tuesday?" & it\'s <urgent>',
        startTime: '2026-06-09T15:00:00.000Z',
        startTimeLocalized: '2026-06-09T11:00:00',
        endTime: null,
        remoteCreatedAt: '2026-05-30T10:00:00.000Z',
        remoteUpdatedAt: '2026-06-02T17:00:00.000Z',
        engagementType: { name: 'Meeting', activityType: 'MEETING' },
        engagementUsers: [{ externalId: '88123401' }],
      },
    ]);
    for (const p of payloads) expect(p.endTime === null || p.endTime >= p.startTime).toBe(true);
  });

  it('hubspot-calls.yml: MeltanoLabs tap-hubspot calls (no associations)', async () => {
    const { payloads, rejects } = await dryRun('hubspot-calls');
    expect(payloads).toEqual([
      {
        externalId: '61234',
        subject: 'Call with Dana Ruiz',
        content: 'Left a voicemail & sent the brochure.',
        direction: 'OUTBOUND',
        startTime: '2026-06-03T15:00:00.000Z',
        startTimeLocalized: '2026-06-03T11:00:00',
        // hs_timestamp + hs_call_duration ("125000" ms).
        endTime: '2026-06-03T15:02:05.000Z',
        remoteCreatedAt: '2026-06-03T15:05:00.000Z',
        remoteUpdatedAt: '2026-06-03T15:05:00.000Z',
        engagementType: { name: 'Completed call', activityType: 'CALL' },
        engagementUsers: [{ externalId: '88123401' }],
      },
      {
        externalId: '61235',
        subject: 'HubSpot call',
        content: null,
        direction: 'INBOUND',
        startTime: '2026-06-04T09:15:00.000Z',
        startTimeLocalized: '2026-06-04T05:15:00',
        endTime: null,
        remoteCreatedAt: '2026-06-04T09:16:00.000Z',
        remoteUpdatedAt: '2026-06-04T09:16:00.000Z',
        engagementType: { name: 'No answer', activityType: 'CALL' },
        engagementUsers: [{ externalId: '88123402' }],
      },
    ]);
    for (const p of payloads) expect(p.endTime === null || p.endTime >= p.startTime).toBe(true);
    expect(rejects.map((r) => [r.key, r.reasons])).toEqual([
      ['id=61236', ['direction: value "SIDEWAYS" of column "properties.hs_call_direction" is not one of INBOUND, OUTBOUND']],
    ]);
  });
  it('hubspot-engagements.yml: singer-io tap-hubspot engagements (one stream, every type; epoch-ms metadata times)', async () => {
    const { payloads, rejects, states } = await dryRun('hubspot-engagements');
    expect(rejects).toEqual([]);
    expect(states).toHaveLength(1);
    const by = Object.fromEntries(payloads.map((p: any) => [p.externalId, p]));
    // A meeting: its own start and end (epoch ms), title, HTML body as text, the first company, deal and contact.
    expect(by['7001']).toMatchObject({
      subject: 'Discovery: Lakeside HOA', content: 'Agenda: budget & timeline', direction: null,
      startTime: '2026-06-02T16:00:00.000Z', endTime: '2026-06-02T16:45:00.000Z',
      engagementType: { name: 'Meeting', activityType: 'MEETING' },
      account: { externalId: '9001' }, opportunity: { externalId: '5001' }, contact: { externalId: '3001' },
      engagementUsers: [{ externalId: '88123401' }],
    });
    // Calls: start + durationMilliseconds, exact to the millisecond; a duration of 0 ends at the start.
    expect(by['7002']).toMatchObject({ startTime: '2026-06-03T15:00:00.123Z', endTime: '2026-06-03T15:02:05.123Z', engagementType: { activityType: 'CALL' } });
    expect(by['7003']).toMatchObject({ startTime: '2026-06-04T09:15:00.000Z', endTime: '2026-06-04T09:15:00.000Z' });
    expect(by['7003']).not.toHaveProperty('account');
    // An email reply: inbound, subject, the HTML read as text.
    expect(by['7004']).toMatchObject({ direction: 'INBOUND', subject: 'Re: your quote', content: 'Thanks — we\'ll sign Monday.', endTime: null, engagementType: { activityType: 'EMAIL' } });
    // A note: sent as an EVENT (the tap cannot leave it out; the mapping says how).
    expect(by['7005']).toMatchObject({ engagementType: { name: 'Note', activityType: 'EVENT' } });
    for (const p of payloads) expect(p.endTime === null || p.endTime >= p.startTime).toBe(true);
  });
});
