import { DEFAULT_SANDBOX_TOKEN, type Sandbox } from '../../connector/sandbox/server.js';

/** Real HTTP calls to a sandbox on 127.0.0.1 (no stubs). */

export const TOKEN = DEFAULT_SANDBOX_TOKEN.token;

export interface Answer {
  status: number;
  headers: Headers;
  json: any;
  ms: number;
}

export async function call(
  sb: Sandbox,
  method: string,
  path: string,
  body?: unknown,
  opts: { token?: string | null; raw?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = opts.token === undefined ? TOKEN : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const started = performance.now();
  const res = await fetch(sb.url + path, {
    method,
    headers,
    body: opts.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined, ms };
}

export const PATHS = {
  engagement: '/v1/integrations/sync/engagements',
  engagementBatch: '/v1/integrations/sync/batch/engagements',
  opportunity: '/v1/integrations/sync/opportunities',
  opportunityBatch: '/v1/integrations/sync/batch/opportunities',
  softDelete: '/v1/integrations/sync/engagements/soft-delete-removed',
  identity: '/v1/core/auth/caller-identity',
};
