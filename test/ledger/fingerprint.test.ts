import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJson, fingerprint } from '../../connector/ledger/fingerprint.js';
import { parseExact } from '../../connector/singer/exact-json.js';

const root = join(import.meta.dirname, '..', '..');

describe('fingerprint', () => {
  const payload = {
    externalId: 'call-1',
    subject: 'Kick-off',
    engagementUsers: [{ email: 'a@example.com', role: 'HOST' }, { email: 'b@example.com' }],
    account: { name: 'ACME', address: { city: 'Berlin', zip: '10115' } },
    durationSeconds: 90.5,
    deletedAt: null,
  };

  it('is sha1 of the JSON with keys sorted at every level', () => {
    const expected =
      '{"account":{"address":{"city":"Berlin","zip":"10115"},"name":"ACME"},"deletedAt":null,"durationSeconds":90.5,' +
      '"engagementUsers":[{"email":"a@example.com","role":"HOST"},{"email":"b@example.com"}],"externalId":"call-1","subject":"Kick-off"}';
    expect(canonicalJson(payload)).toBe(expected);
    expect(fingerprint(payload)).toBe(createHash('sha1').update(expected).digest('hex'));
  });

  it('does not depend on key order, and does depend on values, array order and null vs missing', () => {
    const reordered = {
      deletedAt: null,
      durationSeconds: 90.5,
      account: { address: { zip: '10115', city: 'Berlin' }, name: 'ACME' },
      subject: 'Kick-off',
      engagementUsers: [{ role: 'HOST', email: 'a@example.com' }, { email: 'b@example.com' }],
      externalId: 'call-1',
    };
    expect(fingerprint(reordered)).toBe(fingerprint(payload));
    expect(fingerprint({ ...payload, subject: 'Kick-off!' })).not.toBe(fingerprint(payload));
    expect(fingerprint({ ...payload, engagementUsers: [...payload.engagementUsers].reverse() })).not.toBe(fingerprint(payload));
    const { deletedAt: _dropped, ...withoutDeletedAt } = payload;
    expect(fingerprint(withoutDeletedAt)).not.toBe(fingerprint(payload));
    // undefined members are not sent (JSON drops them), so they do not count.
    expect(fingerprint({ ...payload, extra: undefined })).toBe(fingerprint(payload));
    // "1" and 1 are different payloads.
    expect(fingerprint({ a: 1 })).not.toBe(fingerprint({ a: '1' }));
  });

  it('keeps big integers exact', () => {
    const a = parseExact('{"externalId":"x","amount":12345678901234567890}') as Record<string, unknown>;
    const b = parseExact('{"externalId":"x","amount":12345678901234567891}') as Record<string, unknown>;
    expect(canonicalJson(a)).toBe('{"amount":12345678901234567890,"externalId":"x"}');
    expect(fingerprint(a)).not.toBe(fingerprint(b));
  });

  it('is the same in another process (the built module, as a later run computes it)', () => {
    const script = `import { fingerprint } from ${JSON.stringify(join(root, 'dist/connector/ledger/fingerprint.js'))};
      process.stdout.write(fingerprint(JSON.parse(process.argv[1])));`;
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(payload).reverse()));
    const other = execFileSync(process.execPath, ['--input-type=module', '-e', script, reordered], { encoding: 'utf8' });
    expect(other).toBe(fingerprint(payload));
  });
});
