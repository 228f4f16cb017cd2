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
