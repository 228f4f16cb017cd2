import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SiroClient, SiroTransportError, joinUrl, redactor } from '../../connector/siro/client.js';
import { DEFAULT_SANDBOX_TOKEN, startSandbox, type Sandbox } from '../../connector/sandbox/server.js';
import { SIRO_OBJECTS } from '../../connector/siro/objects.js';
import { SIRO_PATHS } from '../../connector/siro/spec.js';

const TOKEN = DEFAULT_SANDBOX_TOKEN.token;

describe('joinUrl', () => {
  it('keeps the base URL path prefix, with or without a trailing slash', () => {
    expect(joinUrl('https://functions.siro.ai/api-externalApi', SIRO_OBJECTS.engagement.paths.batch)).toEqual({
      origin: 'https://functions.siro.ai',
      path: '/api-externalApi/v1/integrations/sync/batch/engagements',
    });
    expect(joinUrl('https://functions.siro.ai/api-externalApi/', '/v1/x').path).toBe('/api-externalApi/v1/x');
    expect(joinUrl('http://127.0.0.1:4010', '/v1/x')).toEqual({ origin: 'http://127.0.0.1:4010', path: '/v1/x' });
  });
});

describe('redactor', () => {
  it('replaces every occurrence of the secret', () => {
    const redact = redactor('s3cr3t');
    expect(redact('Bearer s3cr3t and s3cr3t again')).toBe('Bearer *** and *** again');
    expect(redact('nothing here')).toBe('nothing here');
  });
});

describe('SiroClient against the sandbox', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox();
  });
  afterAll(() => sb.close());

  it('sends the token, JSON body and answers parsed JSON', async () => {
    const client = new SiroClient({ baseUrl: `${sb.url}/api-externalApi`, apiToken: TOKEN, userAgent: 'test/1', requestTimeoutMs: 2000 });
    const who = await client.request({ method: 'GET', path: SIRO_PATHS.callerIdentity });
    expect(who.status).toBe(200);
    expect(who.body).toMatchObject({ tokenName: 'sandbox', organizationId: 'org-sandbox' });
    const put = await client.request({ method: 'PUT', path: SIRO_OBJECTS.engagement.paths.batch, body: JSON.stringify([{ externalId: 'c1' }]) });
    expect(put.status).toBe(200);
    expect((put.body as { data: { externalId: string }[] }).data[0]!.externalId).toBe('c1');
    expect(put.durationMs).toBeGreaterThan(0);
    await client.close();
  });

  it('answers HTTP errors as responses and sorts failures without an answer into kinds', async () => {
    const client = new SiroClient({ baseUrl: sb.url, apiToken: 'wrong-token-123', userAgent: 'test/1', requestTimeoutMs: 100 });
    const refused = await client.request({ method: 'GET', path: SIRO_PATHS.callerIdentity });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error: 'Unauthorized' });

    sb.setFaults({ latencyMs: 500 });
    const timeout = await client.request({ method: 'GET', path: SIRO_PATHS.callerIdentity }).catch((e: unknown) => e);
    expect(timeout).toBeInstanceOf(SiroTransportError);
    expect((timeout as SiroTransportError).kind).toBe('timeout');

    sb.setFaults({ dropRate: 1 });
    const valid = new SiroClient({ baseUrl: sb.url, apiToken: TOKEN, userAgent: 'test/1', requestTimeoutMs: 1000 });
    const dropped = await valid.request({ method: 'PUT', path: SIRO_OBJECTS.engagement.paths.batch, body: '[]' }).catch((e: unknown) => e);
    expect(dropped).toBeInstanceOf(SiroTransportError);
    expect((dropped as SiroTransportError).kind).toBe('network');
    expect((dropped as Error).message).toMatch(/^connection failed: /);
    expect((dropped as Error).message).not.toContain(TOKEN);
    await valid.destroy();

    const ac = new AbortController();
    const pending = client.request({ method: 'GET', path: SIRO_PATHS.callerIdentity, signal: ac.signal }).catch((e: unknown) => e);
    ac.abort();
    expect(((await pending) as SiroTransportError).kind).toBe('aborted');
    sb.setFaults({});
    await client.destroy();
  });
});
