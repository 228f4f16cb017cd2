/**
 * Reading the bodies of Siro's answers: acknowledgements (`{"data": ...}` with Siro's ids) and refusals
 * (422 ZodError issues, 400 `{"error"}`, plain text). answers.ts decides what an answer means; this module
 * only says what its body holds.
 */

interface Issue {
  path: (string | number)[];
  message: string;
}

/** The issues of a ZodError answer (top level, or nested under "error"), or undefined. */
function issuesOf(body: unknown): Issue[] | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const b = body as { issues?: unknown; error?: unknown };
  const list = Array.isArray(b.issues)
    ? b.issues
    : b.error !== null && typeof b.error === 'object' && Array.isArray((b.error as { issues?: unknown }).issues)
      ? ((b.error as { issues: unknown[] }).issues)
      : undefined;
  if (!list || list.length === 0) return undefined;
  return list.map((raw) => {
    const i = (raw ?? {}) as { path?: unknown; message?: unknown; code?: unknown };
    const path = Array.isArray(i.path) ? i.path.filter((p): p is string | number => typeof p === 'string' || typeof p === 'number') : [];
    const message = typeof i.message === 'string' ? i.message : typeof i.code === 'string' ? i.code : 'invalid';
    return { path, message };
  });
}

function issueText(path: (string | number)[], message: string, status: number): string {
  return `${path.length > 0 ? path.join('.') : '(item)'}: ${message} (${status})`;
}

/** Siro's message of a non-ZodError answer: {"error": "..."}, {"message": "..."}, or plain text. */
function errorText(body: unknown, status: number): string {
  if (typeof body === 'string' && body.trim()) return `${body.trim().slice(0, 500)} (${status})`;
  if (body !== null && typeof body === 'object') {
    const b = body as { error?: unknown; message?: unknown };
    if (typeof b.error === 'string') return `${b.error} (${status})`;
    if (typeof b.message === 'string') return `${b.message} (${status})`;
    return `${JSON.stringify(body).slice(0, 500)} (${status})`;
  }
  return `HTTP ${status}`;
}

/** A one-line summary of an error answer, for log lines and fatal messages. */
export function describeAnswer(status: number, body: unknown): string {
  const issues = issuesOf(body);
  if (issues) return issues.map((i) => issueText(i.path, i.message, status)).join('; ');
  return errorText(body, status);
}

/**
 * Why a single item was refused, as texts like `account.addresses.0.zip: Required (422)`.
 * `indexed`: the answer came from a batch endpoint, so paths start with the item's index (dropped here).
 */
export function reasonsForItem(status: number, body: unknown, indexed: boolean): string[] {
  const issues = issuesOf(body);
  if (!issues) return [errorText(body, status)];
  return issues.map((i) => {
    const path = indexed && i.path.length > 0 && indexOf(i.path[0]) !== undefined ? i.path.slice(1) : i.path;
    return issueText(path, i.message, status);
  });
}

function indexOf(p: string | number): number | undefined {
  if (typeof p === 'number') return Number.isInteger(p) && p >= 0 ? p : undefined;
  return /^\d+$/.test(p) ? Number(p) : undefined;
}

/**
 * For a refused batch of `batchLength` items: the reasons of each named item, keyed by index, when every
 * issue names an item inside the batch. undefined when the answer does not say which items are bad (no
 * issues, an issue about the whole body, an index out of range): then the batch must be bisected.
 */
export function reasonsByItem(status: number, body: unknown, batchLength: number): Map<number, string[]> | undefined {
  const issues = issuesOf(body);
  if (!issues) return undefined;
  const byItem = new Map<number, string[]>();
  for (const issue of issues) {
    const index = issue.path.length > 0 ? indexOf(issue.path[0]!) : undefined;
    if (index === undefined || index >= batchLength) return undefined;
    let reasons = byItem.get(index);
    if (!reasons) byItem.set(index, (reasons = []));
    reasons.push(issueText(issue.path.slice(1), issue.message, status));
  }
  return byItem;
}

function idOf(data: unknown): string | undefined {
  const id = (data as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : typeof id === 'number' ? String(id) : undefined;
}

export type Acknowledgement = { ok: true; siroIds: (string | undefined)[] } | { ok: false; why: string };

/**
 * Whether a 2xx body is Siro's acknowledgement of the items sent, in the shape Siro's spec gives the
 * endpoint: `{"data": {...}}` for a single item, `{"data": [...]}` for a batch with an entry for every item
 * (matched by externalId where Siro returns it, else by position). Anything else (an HTML page, an empty
 * body, `{"data": []}` for 20 items) acknowledges nothing: a server that answers so is not Siro, and its
 * "200" must never mark records delivered. `siroIds`: Siro's id of each item, in sending order.
 */
export function acknowledgement(body: unknown, externalIds: readonly string[], batchEndpoint: boolean): Acknowledgement {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, why: typeof body === 'string' ? `a body that is not JSON (${shorten(body)})` : `a body that is not a JSON object (${shorten(JSON.stringify(body) ?? 'empty')})` };
  }
  const data = (body as { data?: unknown }).data;
  if (!batchEndpoint) {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return { ok: false, why: 'no "data" object for the item sent' };
    const ext = (data as { externalId?: unknown }).externalId;
    if (ext !== undefined && ext !== externalIds[0]) return { ok: false, why: `"data" is about externalId ${JSON.stringify(ext)}, not the item sent` };
    return { ok: true, siroIds: [idOf(data)] };
  }
  if (!Array.isArray(data)) return { ok: false, why: 'no "data" list for the batch sent' };
  const withIds = data.length > 0 && data.every((d) => typeof (d as { externalId?: unknown } | null)?.externalId === 'string');
  if (!withIds) {
    if (data.length !== externalIds.length) return { ok: false, why: `"data" has ${data.length} entries for ${externalIds.length} items sent` };
    return { ok: true, siroIds: data.map(idOf) };
  }
  const byExternalId = new Map<string, string | undefined>();
  for (const d of data) byExternalId.set((d as { externalId: string }).externalId, idOf(d));
  const missing = externalIds.filter((x) => !byExternalId.has(x));
  if (missing.length > 0) return { ok: false, why: `"data" has no entry for ${missing.length} of ${externalIds.length} items sent (e.g. ${JSON.stringify(missing[0])})` };
  return { ok: true, siroIds: externalIds.map((x) => byExternalId.get(x)) };
}

function shorten(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat === '' ? 'empty' : flat.length > 80 ? `${flat.slice(0, 80)}…` : flat;
}

/** Siro's caller identity (`GET /v1/core/auth/caller-identity`), or undefined when the body is not one. */
export interface CallerIdentity {
  organization_id: string;
  token_name: string;
  token_id: string | null;
  authorized_org_group_id: string | null;
  created_at: string | null;
}

export function callerIdentityOf(body: unknown): CallerIdentity | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  // The spec answers the identity itself; accept a {data: ...} envelope as the sync endpoints use too.
  const b = ('data' in body && body.data && typeof body.data === 'object' ? body.data : body) as Record<string, unknown>;
  if (typeof b.organizationId !== 'string' || typeof b.tokenName !== 'string') return undefined;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    organization_id: b.organizationId,
    token_name: b.tokenName,
    token_id: text(b.tokenId),
    authorized_org_group_id: text(b.authorizedOrgGroupId),
    created_at: text(b.createdAt),
  };
}
