import { describe, expect, it } from 'vitest';
import { addSecrets, addUrlCredentials, redact } from '../../connector/core/secrets.js';

describe('redact', () => {
  it('hides URL credentials without breaking the JSON text around them', () => {
    const line = JSON.stringify({ website: 'https://acme.com', email: 'bob@acme.com', db: 'postgres://app:s3cret-pw@db:5432/x', reasons: ['see https://x.io'] });
    const out = redact(line);
    expect(() => JSON.parse(out)).not.toThrow();
    expect(JSON.parse(out)).toEqual({ website: 'https://acme.com', email: 'bob@acme.com', db: 'postgres://app:***@db:5432/x', reasons: ['see https://x.io'] });
    expect(redact('https://tok-abc123@host/p')).toBe('https://***@host/p');
  });

  it('hides registered secrets anywhere, but a URL user name only inside URLs', () => {
    addSecrets('tok-registered-9f8e7d');
    addUrlCredentials('postgres://postgres:pw-Registered-1@db/wh', 'postgres://analytics@db/wh');
    expect(redact('a tok-registered-9f8e7d b pw-Registered-1')).toBe('a *** b ***');
    expect(redact('stream public-postgres_users, user analytics')).toBe('stream public-postgres_users, user analytics');
  });
});
