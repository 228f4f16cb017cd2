import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../connector/sandbox/server.js';
import { engagement } from '../support/siro-payloads.js';
import { PATHS, TOKEN, call } from './http.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(() => sb.close());

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(sb.url + path, { method, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe('/_sandbox endpoints (no auth)', () => {
  it('reads back both stores, the stats, and resets them', async () => {
    await call(sb, 'PUT', PATHS.engagementBatch, [engagement('e1'), engagement('e2')]);
    await call(sb, 'PUT', PATHS.opportunity, { externalId: 'o1', amount: 5 });
    await call(sb, 'PUT', PATHS.engagement, { externalId: 42 });

    const engagements = await control('GET', '/_sandbox/engagements');
    expect(engagements.status).toBe(200);
    expect(engagements.json.data.map((e: { externalId: string }) => e.externalId)).toEqual(['e1', 'e2']);
    expect(engagements.json.data[0]).toMatchObject({ id: 'eng_1', writes: 1, body: engagement('e1'), deletedAt: null });
    expect(typeof engagements.json.data[0].createdAt).toBe('string');

    const opportunities = await control('GET', '/_sandbox/opportunities');
    expect(opportunities.json.data).toMatchObject([{ externalId: 'o1', body: { externalId: 'o1', amount: 5 } }]);

    const stats = await control('GET', '/_sandbox/stats');
    expect(stats.json).toEqual({ requests: 3, byStatus: { '200': 2, '422': 1 }, itemsWritten: 3, throttled: 0 });
    expect(stats.json).toEqual(sb.stats());

    expect((await control('POST', '/_sandbox/reset')).status).toBe(200);
    expect(sb.engagements()).toEqual([]);
    expect(sb.opportunities()).toEqual([]);
    expect(sb.stats()).toEqual({ requests: 0, byStatus: {}, itemsWritten: 0, throttled: 0 });
    // Ids start over after a reset.
    expect((await call(sb, 'PUT', PATHS.engagement, engagement('x'))).json.data.id).toBe('eng_1');
  });

  it('sets faults over HTTP and refuses invalid ones with 400', async () => {
    const set = await control('PUT', '/_sandbox/faults', { errorRate: 1, seed: 3 });
    expect(set.status).toBe(200);
    expect(set.json).toEqual({ errorRate: 1, seed: 3 });
    expect((await call(sb, 'PUT', PATHS.engagement, engagement('e1'))).status).toBe(500);
    expect((await control('GET', '/_sandbox/faults')).json).toEqual({ errorRate: 1, seed: 3 });

    for (const bad of [{ errorRate: 2 }, { latencyMs: 'slow' }, { unknownFault: 1 }, '{oops']) {
      const r = await control('PUT', '/_sandbox/faults', bad);
      expect(r.status).toBe(400);
      expect(typeof r.json.error).toBe('string');
    }
    // A refused setting leaves the previous one in place.
    expect((await control('GET', '/_sandbox/faults')).json).toEqual({ errorRate: 1, seed: 3 });

    expect((await control('PUT', '/_sandbox/faults', {})).status).toBe(200);
    expect((await call(sb, 'PUT', PATHS.engagement, engagement('e1'))).status).toBe(200);
    expect((await control('GET', '/_sandbox/nothing')).status).toBe(404);
  });

  it('serves many requests over one keep-alive connection and closes promptly with idle clients', async () => {
    const other = await startSandbox();
    const { Agent, request } = await import('undici');
    const agent = new Agent({ connections: 1 });
    for (let i = 0; i < 20; i++) {
      const r = await request(`${other.url}${PATHS.engagement}`, {
        method: 'PUT',
        dispatcher: agent,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(engagement(`k${i}`)),
      });
      expect(r.statusCode).toBe(200);
      await r.body.text();
    }
    expect(other.engagements()).toHaveLength(20);
    const started = performance.now();
    await other.close();
    expect(performance.now() - started).toBeLessThan(1000);
    await agent.close();
  });
});
