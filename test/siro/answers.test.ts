import { describe, expect, it } from 'vitest';
import { acknowledgement, describeAnswer, reasonsByItem, reasonsForItem } from '../../connector/siro/answer-bodies.js';
import { answerAction, statusMeaning, type AnsweredRequest } from '../../connector/siro/answers.js';

const zod = (issues: unknown[]) => ({ name: 'ZodError', issues });

describe('reasonsByItem', () => {
  it('names exactly the items whose index starts an issue path, with the path inside the item', () => {
    const body = zod([
      { code: 'invalid_type', path: [3, 'account', 'addresses', 0, 'zip'], message: 'Required' },
      { code: 'invalid_type', path: [3, 'subject'], message: 'Expected string' },
      { code: 'invalid_enum_value', path: [7, 'direction'], message: "Invalid enum value. Expected 'INBOUND' | 'OUTBOUND'" },
    ]);
    const named = reasonsByItem(422, body, 10)!;
    expect([...named.keys()].sort()).toEqual([3, 7]);
    expect(named.get(3)).toEqual(['account.addresses.0.zip: Required (422)', 'subject: Expected string (422)']);
    expect(named.get(7)).toEqual(["direction: Invalid enum value. Expected 'INBOUND' | 'OUTBOUND' (422)"]);
  });

  it('accepts indexes written as strings and issues nested under "error"', () => {
    const named = reasonsByItem(422, { error: zod([{ code: 'x', path: ['2', 'name'], message: 'bad' }]) }, 4)!;
    expect([...named.entries()]).toEqual([[2, ['name: bad (422)']]]);
  });

  it('gives up (bisect) when the answer does not say which items', () => {
    expect(reasonsByItem(400, { error: 'Invalid JSON body' }, 4)).toBeUndefined();
    expect(reasonsByItem(422, zod([]), 4)).toBeUndefined();
    expect(reasonsByItem(422, zod([{ code: 'x', path: [], message: 'Expected array' }]), 4)).toBeUndefined();
    expect(reasonsByItem(422, zod([{ code: 'x', path: ['subject'], message: 'bad' }]), 4)).toBeUndefined();
    expect(reasonsByItem(422, zod([{ code: 'x', path: [9, 'subject'], message: 'bad' }]), 4)).toBeUndefined();
    expect(reasonsByItem(422, 'plain text', 4)).toBeUndefined();
    expect(reasonsByItem(422, undefined, 4)).toBeUndefined();
    // One unnamed issue among named ones: not every bad item is known.
    expect(reasonsByItem(422, zod([{ code: 'x', path: [1], message: 'a' }, { code: 'x', path: [], message: 'b' }]), 4)).toBeUndefined();
  });
});

describe('reasonsForItem', () => {
  it('drops the index of batch answers and keeps single-endpoint paths', () => {
    const batch = zod([{ code: 'invalid_type', path: [0, 'account', 'addresses', 0, 'zip'], message: 'Required' }]);
    expect(reasonsForItem(422, batch, true)).toEqual(['account.addresses.0.zip: Required (422)']);
    const single = zod([{ code: 'invalid_type', path: ['account', 'addresses', 0, 'zip'], message: 'Required' }]);
    expect(reasonsForItem(422, single, false)).toEqual(['account.addresses.0.zip: Required (422)']);
  });

  it("uses Siro's error text otherwise", () => {
    expect(reasonsForItem(400, { error: 'Invalid JSON body' }, true)).toEqual(['Invalid JSON body (400)']);
    expect(reasonsForItem(400, 'Bad Request', true)).toEqual(['Bad Request (400)']);
    expect(reasonsForItem(413, undefined, true)).toEqual(['HTTP 413']);
    expect(describeAnswer(500, { error: 'Internal server error' })).toBe('Internal server error (500)');
  });
});

describe('acknowledgement', () => {
  it("reads Siro's ids in sending order, matching by externalId when the order differs", () => {
    expect(acknowledgement({ data: { id: 'eng_1', externalId: 'a' } }, ['a'], false)).toEqual({ ok: true, siroIds: ['eng_1'] });
    expect(acknowledgement({ data: [{ id: 'eng_1', externalId: 'a' }, { id: 2, externalId: 'b' }] }, ['a', 'b'], true)).toEqual({ ok: true, siroIds: ['eng_1', '2'] });
    expect(acknowledgement({ data: [{ id: 'eng_2', externalId: 'b' }, { id: 'eng_1', externalId: 'a' }] }, ['a', 'b'], true)).toEqual({ ok: true, siroIds: ['eng_1', 'eng_2'] });
    // Entries without externalId answer by position.
    expect(acknowledgement({ data: [{ id: 'x' }, {}] }, ['a', 'b'], true)).toEqual({ ok: true, siroIds: ['x', undefined] });
  });

  it.each([
    ['an HTML page', '<html><body>Sign in</body></html>', false, /not JSON \(<html><body>Sign in/],
    ['an empty body', '', false, /not JSON \(empty\)/],
    ['no data', {}, false, /no "data" object/],
    ['another externalId', { data: { id: 'e', externalId: 'zzz' } }, false, /externalId "zzz"/],
    ['an empty list for a batch', { data: [] }, true, /"data" has 0 entries for 2 items/],
    ['a list missing an item', { data: [{ id: 'e', externalId: 'a' }, { id: 'f', externalId: 'c' }] }, true, /no entry for 1 of 2 items sent \(e\.g\. "b"\)/],
    ['an object for a batch', { data: { id: 'e' } }, true, /no "data" list/],
  ])('is not %s', (_what, body, batch, why) => {
    const ack = acknowledgement(body, batch ? ['a', 'b'] : ['a'], batch);
    expect(ack.ok).toBe(false);
    expect(ack.ok ? '' : ack.why).toMatch(why);
  });
});

describe("Siro's answer table", () => {
  const request = (externalIds: string[], batchEndpoint = true): AnsweredRequest => ({
    method: 'PUT',
    path: '/v1/integrations/sync/batch/engagements',
    url: 'https://siro.example/api/v1/integrations/sync/batch/engagements',
    userAgent: 'target-siro/1.0',
    externalIds,
    batchEndpoint,
  });
  const answer = (status: number, body?: unknown, headers: Record<string, string> = {}) => ({ status, body, headers });
  const three = request(['a', 'b', 'c']);
  const one = request(['a']);

  it.each([
    [200, 'acknowledged'],
    [201, 'acknowledged'],
    [204, 'acknowledged'],
    [429, 'rate-limited'],
    [408, 'failed'],
    [500, 'failed'],
    [502, 'failed'],
    [503, 'failed'],
    [400, 'refused-items'],
    [422, 'refused-items'],
    [413, 'too-large'],
    [401, 'token-refused'],
    [403, 'access-refused'],
    [404, 'no-endpoint'],
    [405, 'refused'],
    [409, 'refused'],
    [301, 'refused'],
  ] as const)('status %i means %s', (status, meaning) => {
    expect(statusMeaning(status)).toBe(meaning);
  });

  it('2xx: acknowledged, with the ids read from the body', () => {
    expect(answerAction(answer(200, { data: [{ id: '1' }, { id: '2' }, { id: '3' }] }), three)).toEqual({ action: 'acknowledged', siroIds: ['1', '2', '3'] });
  });

  it('2xx that is not an acknowledgement: a failed request that names base_url, never a delivery', () => {
    const action = answerAction(answer(200, { data: [] }), three);
    expect(action).toMatchObject({ action: 'retry', serverError: false });
    expect(action.action === 'retry' ? action.failure : '').toMatch(/the server at base_url .* does not answer as Siro: PUT .* got 200 with "data" has 0 entries for 3 items sent/);
  });

  it('429: retry after the pause Siro asks for (not counted)', () => {
    expect(answerAction(answer(429, { error: 'Too many requests' }, { 'retry-after': '3' }), three)).toEqual({ action: 'retry-after', retryAfter: '3' });
  });

  it('408, 5xx and transport failures: retry with backoff; only a 5xx is a server error', () => {
    expect(answerAction(answer(500, { error: 'Internal server error' }), three)).toEqual({ action: 'retry', failure: 'Internal server error (500)', serverError: true });
    expect(answerAction(answer(408, undefined), three)).toEqual({ action: 'retry', failure: 'HTTP 408', serverError: false });
    expect(answerAction({ kind: 'timeout', message: 'no answer within 5000 ms' }, three)).toEqual({ action: 'retry', failure: 'no answer within 5000 ms', serverError: false });
    expect(answerAction({ kind: 'network', message: 'connection failed: ECONNRESET' }, three)).toMatchObject({ action: 'retry', serverError: false });
  });

  it('400/422 with item-index paths: split by paths', () => {
    const action = answerAction(answer(422, zod([{ code: 'x', path: [1, 'subject'], message: 'bad' }])), three);
    expect(action).toEqual({ action: 'split-by-paths', status: 422, reasonsByItem: new Map([[1, ['subject: bad (422)']]]) });
  });

  it('400/422 without item paths: bisect', () => {
    expect(answerAction(answer(400, { error: 'Invalid engagement data' }), three)).toEqual({ action: 'bisect', why: 'Siro refused the batch (400) without naming items' });
  });

  it('400/422 for a single item: reject it, with the path inside the item', () => {
    const body = zod([{ code: 'x', path: [0, 'subject'], message: 'bad' }]);
    expect(answerAction(answer(422, body), one)).toEqual({ action: 'reject-items', status: 422, reasons: ['subject: bad (422)'] });
    const single = zod([{ code: 'x', path: ['subject'], message: 'bad' }]);
    expect(answerAction(answer(422, single), request(['a'], false))).toEqual({ action: 'reject-items', status: 422, reasons: ['subject: bad (422)'] });
  });

  it('413: too large for a batch, a rejection for a single item', () => {
    expect(answerAction(answer(413, { error: 'Request body too large' }), three)).toEqual({ action: 'too-large' });
    expect(answerAction(answer(413, { error: 'Request body too large' }), one)).toEqual({ action: 'reject-items', status: 413, reasons: ['Request body too large (413)'] });
  });

  it('401, 403, 404 and other statuses: fatal, saying what to check', () => {
    const fatal = (status: number) => answerAction(answer(status, { error: 'nope' }), three);
    expect(fatal(401)).toEqual({ action: 'fatal', status: 401, message: 'Siro refused the API token (401): check api_token (Siro said: nope (401))' });
    expect(fatal(403)).toMatchObject({ action: 'fatal', status: 403 });
    expect(fatal(403)).toHaveProperty('message', expect.stringContaining('lacks rights for PUT /v1/integrations/sync/batch/engagements (403)'));
    expect(fatal(403)).toHaveProperty('message', expect.stringContaining('refused the User-Agent "target-siro/1.0"'));
    expect(fatal(404)).toHaveProperty('message', expect.stringContaining('no endpoint PUT https://siro.example/api/v1/integrations/sync/batch/engagements (404): check base_url'));
    expect(fatal(409)).toEqual({ action: 'fatal', status: 409, message: 'Siro refused PUT /v1/integrations/sync/batch/engagements with 409: nope (409)' });
  });
});
