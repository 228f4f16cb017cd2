import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMappings } from '../../connector/mapping/index.js';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../connector/ledger/fingerprint.js';
import { itemJson, payloadJson } from '../../connector/delivery/payload-json.js';
import { parseExact } from '../../connector/singer/exact-json.js';
import { outboundItem } from '../support/siro-payloads.js';

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

  it('is sha1 of the JSON text', () => {
    expect(fingerprint(payload)).toBe(createHash('sha1').update(JSON.stringify(payload)).digest('hex'));
  });

  it('does not depend on the order a mapping file lists its fields in: payloads follow Siro\'s schema order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-'));
    const write = (name: string, fields: string) => {
      const f = join(dir, name);
      writeFileSync(f, `version: 1\nstreams:\n  s:\n    object: engagement\n    fields:\n${fields}`);
      return loadMappings(f).forStream('s')!;
    };
    const a = write('a.yml', '      externalId: id\n      subject: title\n      account:\n        name: acct\n        externalId: acct_id\n      content: notes\n');
    const b = write('b.yml', '      content: notes\n      account:\n        externalId: acct_id\n        name: acct\n      subject: title\n      externalId: id\n');
    const record = { id: 1, title: 'Kick-off', acct: 'ACME', acct_id: 'A-1', notes: null };
    const pa = a.map(record);
    const pb = b.map(record);
    if (!pa.ok || !pb.ok) throw new Error('mapping failed');
    expect(JSON.stringify(pa.payload)).toBe(JSON.stringify(pb.payload));
    expect(Object.keys(pa.payload)).toEqual(['externalId', 'content', 'subject', 'account']);
    expect(fingerprint(pa.payload)).toBe(fingerprint(pb.payload));
  });

  it('depends on values, array order and null vs missing', () => {
    expect(fingerprint({ ...payload, subject: 'Kick-off!' })).not.toBe(fingerprint(payload));
    expect(fingerprint({ ...payload, engagementUsers: [...payload.engagementUsers].reverse() })).not.toBe(fingerprint(payload));
    const { deletedAt: _dropped, ...withoutDeletedAt } = payload;
    expect(fingerprint(withoutDeletedAt)).not.toBe(fingerprint(payload));
    // undefined members are not sent (JSON drops them), so they do not count.
    expect(fingerprint({ ...payload, extra: undefined })).toBe(fingerprint(payload));
    // "1" and 1 are different payloads.
    expect(fingerprint({ a: 1 })).not.toBe(fingerprint({ a: '1' }));
  });

  it('keeps big integers exact, and hashes the very text that is sent', () => {
    const a = parseExact('{"externalId":"x","amount":12345678901234567890}') as Record<string, unknown>;
    const b = parseExact('{"externalId":"x","amount":12345678901234567891}') as Record<string, unknown>;
    expect(payloadJson(a)).toBe('{"externalId":"x","amount":12345678901234567890}');
    expect(fingerprint(a)).toBe(createHash('sha1').update(payloadJson(a)).digest('hex'));
    expect(fingerprint(a)).not.toBe(fingerprint(b));
    // Sinks send itemJson: the same bytes, with or without the ledger in front.
    expect(itemJson(outboundItem(a))).toBe(payloadJson(a));
  });

  it('is the same in another process (the built module, as a later run computes it)', () => {
    const script = `import { fingerprint } from ${JSON.stringify(join(root, 'dist/connector/ledger/fingerprint.js'))};
      process.stdout.write(fingerprint(JSON.parse(process.argv[1])));`;
    const other = execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(payload)], { encoding: 'utf8' });
    expect(other).toBe(fingerprint(payload));
  });
});
