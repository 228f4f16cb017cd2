/**
 * Reading Siro's refusal of a batch (422 ZodError issues, 400 {"error"}) so that only the bad items are
 * rejected: when every issue's path starts with an item index, those items are named; otherwise the batch
 * must be bisected until single items are refused on their own.
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

/** Two halves (the first one the larger), for a batch whose bad items are unknown. */
export function bisect<T>(items: readonly T[]): [T[], T[]] {
  const mid = Math.ceil(items.length / 2);
  return [items.slice(0, mid), items.slice(mid)];
}
