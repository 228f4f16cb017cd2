import type { OutboundItem } from '../../connector/delivery/sink.js';

/** Valid Siro payloads for tests that talk to the sandbox (test/delivery, test/sandbox): one shape everywhere. */

export function engagement(externalId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    externalId,
    subject: `Visit ${externalId}`,
    direction: 'OUTBOUND',
    startTime: '2026-03-04T19:00:00.000Z',
    engagementType: { name: 'Site visit', activityType: 'APPOINTMENT' },
    engagementUsers: [{ externalId: 'u1', email: 'rep@example.com' }],
    account: { externalId: `acc-${externalId}`, name: 'Acme', addresses: [{ country: 'US', street: '1 Main St', city: 'Austin', state: 'TX', zip: '78701' }] },
    ...extra,
  };
}

export function opportunity(externalId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { externalId, name: `Deal ${externalId}`, amount: 1200, disposition: 'OPEN', ...extra };
}

/** An engagement Siro refuses: an address without its zip. */
export function badEngagement(externalId: string): Record<string, unknown> {
  return engagement(externalId, { account: { externalId: 'acc-bad', addresses: [{ country: 'US', street: '1 Main St', city: 'Austin', state: 'TX' }] } });
}

let lastSeq = 0;

/**
 * The one builder of a sink's OutboundItem in tests: `payload` as the mapping made it (the item's externalId
 * is the payload's), or just an externalId for a payload of `{ externalId }`. By default an engagement
 * of stream `engagements`, keyed `id=<externalId>`, with seq and line counting up across the test file;
 * `overrides` sets any member.
 */
export function outboundItem(payloadOrExternalId: Record<string, unknown> | string, overrides: Partial<OutboundItem> = {}): OutboundItem {
  const payload = typeof payloadOrExternalId === 'string' ? { externalId: payloadOrExternalId } : payloadOrExternalId;
  const externalId = overrides.externalId ?? (payload.externalId as string);
  const object = overrides.object ?? 'engagement';
  const seq = overrides.seq ?? ++lastSeq;
  return { seq, line: seq, stream: `${object}s`, key: `id=${externalId}`, object, externalId, payload, ...overrides };
}
