import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SANDBOX_TOKEN, startSandbox, type Sandbox } from '../../connector/sandbox/server.js';
import { openApi, validatorFor, type OpenApiSchema } from '../../connector/siro/spec.js';
import { engagement } from '../support/siro-payloads.js';
import { PATHS, call } from './http.js';

/** The 200 response schema the spec publishes for a path, to check the sandbox answers in Siro's shape. */
function responseValidator(path: string, method: string): (body: unknown) => unknown[] {
  const ops = openApi.paths[path] as unknown as Record<string, { responses: Record<string, { content: Record<string, { schema: OpenApiSchema }> }> }>;
  return validatorFor(anyWhereUntyped(ops[method]!.responses['200']!.content['application/json']!.schema));
}

/** The response schemas say `{"nullable": true}` without a type for "anything"; ajv wants that as `{}`. */
function anyWhereUntyped(schema: OpenApiSchema): OpenApiSchema {
  const { nullable, ...rest } = schema;
  const out: OpenApiSchema = schema.type ? { ...schema } : rest;
  if (schema.properties) out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, anyWhereUntyped(v)]));
  if (schema.items) out.items = anyWhereUntyped(schema.items);
  return out;
}

let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox({
    tokens: [
      DEFAULT_SANDBOX_TOKEN,
      { token: 'read-only-token', tokenName: 'read only', organizationId: 'org-sandbox', forbidden: true },
      { token: 'other-org-token', tokenName: 'other', organizationId: 'org-2', tokenId: 'tok_other' },
    ],
  });
});
afterAll(() => sb.close());
beforeEach(() => sb.reset());

describe('auth', () => {
  it('answers 401 without a token or with an unknown one, and writes nothing', async () => {
    for (const token of [null, 'nope']) {
      const r = await call(sb, 'PUT', PATHS.engagement, engagement('e1'), { token });
      expect(r.status).toBe(401);
      expect(r.json).toEqual({ error: 'Unauthorized' });
    }
    const basic = await fetch(sb.url + PATHS.identity, { headers: { authorization: 'Basic c2FuZGJveC10b2tlbjo=' } });
    expect(basic.status).toBe(401);
    expect(sb.engagements()).toEqual([]);
  });

  it('answers 403 for a token that authenticates but lacks rights', async () => {
    const r = await call(sb, 'PUT', PATHS.engagementBatch, [engagement('e1')], { token: 'read-only-token' });
    expect(r.status).toBe(403);
    expect(r.json).toEqual({ error: 'Forbidden' });
    expect(sb.engagements()).toEqual([]);
  });
});

describe('upserts', () => {
  it('stores a single engagement and answers in the shape of the spec', async () => {
    const body = engagement('e1', { account: { externalId: 'acc-9', name: 'Acme' } });
    const r = await call(sb, 'PUT', PATHS.engagement, body);
    expect(r.status).toBe(200);
    expect(responseValidator(PATHS.engagement, 'put')(r.json)).toEqual([]);
    expect(r.json.data).toMatchObject({
      externalId: 'e1',
      engagementType: 'Site visit',
      direction: 'OUTBOUND',
      organizationId: 'org-sandbox',
      subject: 'Visit e1',
      account: { externalId: 'acc-9', name: 'Acme' },
    });
    expect(r.json.data.id).toMatch(/^eng_\d+$/);
    expect(r.json.data.accountId).toMatch(/^acc_\d+$/);

    const [stored] = sb.engagements();
    expect(stored).toMatchObject({ id: r.json.data.id, externalId: 'e1', writes: 1, deletedAt: null, body });
    expect(sb.stats()).toEqual({ requests: 1, byStatus: { '200': 1 }, itemsWritten: 1, throttled: 0 });
  });

  it('stores a batch and answers one element per item, in order', async () => {
    const items = [engagement('b1'), engagement('b2', { direction: 'INBOUND' }), engagement('b3')];
    const r = await call(sb, 'PUT', PATHS.engagementBatch, items);
    expect(r.status).toBe(200);
    expect(responseValidator(PATHS.engagementBatch, 'put')(r.json)).toEqual([]);
    expect(r.json.data.map((d: { externalId: string }) => d.externalId)).toEqual(['b1', 'b2', 'b3']);
    expect(new Set(r.json.data.map((d: { id: string }) => d.id)).size).toBe(3);
    expect(sb.engagements().map((e) => e.body)).toEqual(items);
    expect(sb.stats().itemsWritten).toBe(3);

    const readBack = (await (await fetch(`${sb.url}/_sandbox/engagements`)).json()) as { data: { externalId: string }[] };
    expect(readBack.data.map((e) => e.externalId)).toEqual(['b1', 'b2', 'b3']);
  });

  it('upserts opportunities (single and batch) by externalId and links engagements to them', async () => {
    const single = await call(sb, 'PUT', PATHS.opportunity, { externalId: 'o1', name: 'Roof', amount: 12000, disposition: 'OPEN' });
    expect(single.status).toBe(200);
    expect(responseValidator(PATHS.opportunity, 'put')(single.json)).toEqual([]);
    expect(single.json.data).toMatchObject({ externalId: 'o1', name: 'Roof', amount: 12000, disposition: 'OPEN', organizationId: 'org-sandbox' });

    const batch = await call(sb, 'PUT', PATHS.opportunityBatch, [{ externalId: 'o1', disposition: 'WON' }, { externalId: 'o2' }]);
    expect(batch.status).toBe(200);
    expect(responseValidator(PATHS.opportunityBatch, 'put')(batch.json)).toEqual([]);
    expect(batch.json.data[0].id).toBe(single.json.data.id);
    expect(batch.json.data[1].name).toBeNull();
    expect(sb.opportunities().map((o) => [o.externalId, o.writes])).toEqual([['o1', 2], ['o2', 1]]);

    const eng = await call(sb, 'PUT', PATHS.engagement, engagement('e1', { opportunity: { externalId: 'o1' } }));
    expect(eng.json.data.opportunityId).toBe(single.json.data.id);
  });

  it('replaces the stored body on each write (last write wins) and keeps the id', async () => {
    const first = await call(sb, 'PUT', PATHS.engagement, engagement('e1', { content: 'notes' }));
    const secondBody = { externalId: 'e1', subject: 'Renamed' };
    const second = await call(sb, 'PUT', PATHS.engagementBatch, [secondBody]);
    expect(second.json.data[0].id).toBe(first.json.data.id);
    expect(second.json.data[0].createdAt).toBe(first.json.data.createdAt);
    const [stored] = sb.engagements();
    expect(stored!.body).toEqual(secondBody);
    expect(stored!.writes).toBe(2);
    expect(sb.engagements()).toHaveLength(1);
  });

  it('accepts the /api-externalApi prefix of the documented base URL', async () => {
    const r = await call(sb, 'PUT', '/api-externalApi' + PATHS.engagement, engagement('e1'));
    expect(r.status).toBe(200);
    expect(sb.engagements()).toHaveLength(1);
  });
});

describe('validation', () => {
  it('refuses a whole batch with 422 ZodError issues whose paths start with the item index', async () => {
    const items = [engagement('ok'), engagement('bad', { direction: 'SIDEWAYS' }), { subject: 'no id' }];
    const r = await call(sb, 'PUT', PATHS.engagementBatch, items);
    expect(r.status).toBe(422);
    expect(r.json.name).toBe('ZodError');
    expect(r.json.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'invalid_enum_value', path: [1, 'direction'] }),
        expect.objectContaining({ code: 'invalid_type', path: [2, 'externalId'], message: 'Required' }),
      ]),
    );
    for (const issue of r.json.issues) expect(typeof issue.message).toBe('string');
    expect(sb.engagements()).toEqual([]);
    expect(sb.stats().itemsWritten).toBe(0);
  });

  it('refuses explicit null for a non-nullable field, and accepts it for a nullable one', async () => {
    const bad = await call(sb, 'PUT', PATHS.engagement, engagement('e1', { engagementUsers: null }));
    expect(bad.status).toBe(422);
    expect(bad.json.issues[0].path).toEqual(['engagementUsers']);
    const badAddress = await call(sb, 'PUT', PATHS.opportunity, {
      externalId: 'o1',
      account: { externalId: 'a1', addresses: [{ country: 'US', street: '1 Main', city: 'X', state: 'CA' }] },
    });
    expect(badAddress.status).toBe(422);
    expect(badAddress.json.issues[0].path).toEqual(['account', 'addresses', 0, 'zip']);
    const ok = await call(sb, 'PUT', PATHS.engagement, engagement('e1', { content: null, account: null }));
    expect(ok.status).toBe(200);
  });

  it('answers 422 for a non-array batch and 400 for a body that is not JSON', async () => {
    const notArray = await call(sb, 'PUT', PATHS.engagementBatch, engagement('e1'));
    expect(notArray.status).toBe(422);
    expect(notArray.json.name).toBe('ZodError');
    const notJson = await call(sb, 'PUT', PATHS.engagement, undefined, { raw: '{"externalId": ' });
    expect(notJson.status).toBe(400);
    expect(typeof notJson.json.error).toBe('string');
    expect(sb.engagements()).toEqual([]);
  });

  it('answers 404 for unknown paths and 405 for a wrong method', async () => {
    const unknown = await call(sb, 'PUT', '/v1/integrations/sync/contacts', {});
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: 'Not found' });
    const wrongMethod = await call(sb, 'POST', PATHS.engagement, engagement('e1'));
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('PUT');
    expect(typeof wrongMethod.json.error).toBe('string');
  });
});

describe('soft-delete-removed and caller-identity', () => {
  it('soft-deletes engagements in the window that are missing from validExternalIds', async () => {
    await call(sb, 'PUT', PATHS.engagementBatch, [
      engagement('keep', { startTime: '2026-01-10T10:00:00Z' }),
      engagement('gone', { startTime: '2026-01-15T10:00:00Z' }),
      engagement('edge', { startTime: '2026-01-31T23:59:59Z' }),
      engagement('later', { startTime: '2026-02-20T10:00:00Z' }),
      { externalId: 'no-start' },
    ]);
    const r = await call(sb, 'POST', PATHS.softDelete, {
      validExternalIds: ['keep'],
      fromTime: '2026-01-01T00:00:00Z',
      toTime: '2026-01-31T23:59:59Z',
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ data: { success: true } });
    const deleted = Object.fromEntries(sb.engagements().map((e) => [e.externalId, e.deletedAt !== null]));
    expect(deleted).toEqual({ keep: false, gone: true, edge: true, later: false, 'no-start': false });

    const invalid = await call(sb, 'POST', PATHS.softDelete, { validExternalIds: [], fromTime: 'yesterday' });
    expect(invalid.status).toBe(422);
    expect(invalid.json.issues.map((i: { path: unknown[] }) => i.path)).toEqual(expect.arrayContaining([['fromTime'], ['toTime']]));

    // Sending the record again brings it back: the new payload is the whole truth.
    await call(sb, 'PUT', PATHS.engagement, engagement('gone', { startTime: '2026-01-15T10:00:00Z' }));
    expect(sb.engagements().find((e) => e.externalId === 'gone')!.deletedAt).toBeNull();
  });

  it("answers caller-identity with the token's details in the spec's shape, never the token", async () => {
    const r = await call(sb, 'GET', PATHS.identity, undefined, { token: 'other-org-token' });
    expect(r.status).toBe(200);
    expect(responseValidator(PATHS.identity, 'get')(r.json)).toEqual([]);
    expect(r.json).toMatchObject({ tokenId: 'tok_other', tokenName: 'other', organizationId: 'org-2', createdBy: null });
    expect(JSON.stringify(r.json)).not.toContain('other-org-token');

    const write = await call(sb, 'PUT', PATHS.engagement, engagement('e1'), { token: 'other-org-token' });
    expect(write.json.data.organizationId).toBe('org-2');
  });
});
