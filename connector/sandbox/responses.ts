import type { ServerResponse } from 'node:http';
import type { SiroObject } from '../siro/objects.js';
import type { SiroIssue } from '../siro/spec.js';
import type { SandboxObjectRecord, SandboxToken } from './types.js';

/**
 * Siro-shaped answers. The 200 bodies follow the response schemas of the spec
 * (connector/siro/spec/siro-sync.openapi.json); fields that are not nullable there are left out rather
 * than sent as null.
 */

/** Looks up Siro ids of linked objects while building an answer. */
export interface LinkedIds {
  accountId(externalId: string): string;
  opportunityId(externalId: string): string | undefined;
}

type Json = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function externalIdOf(v: unknown): string | undefined {
  return v && typeof v === 'object' ? str((v as Json).externalId) : undefined;
}

function accountIdOf(body: Json, links: LinkedIds): string | undefined {
  const override = str(body.accountId);
  if (override) return override;
  const accountExternalId = externalIdOf(body.account);
  return accountExternalId === undefined ? undefined : links.accountId(accountExternalId);
}

function engagementTypeName(body: Json): string {
  const type = body.engagementType as Json | null | undefined;
  return str(type?.name) ?? str(type?.activityType) ?? str(body.engagementTypeId) ?? 'Engagement';
}

function engagementData(record: SandboxObjectRecord, organizationId: string, links: LinkedIds): Json {
  const b = record.body;
  const opportunityExternalId = externalIdOf(b.opportunity);
  return {
    id: record.id,
    externalId: record.externalId,
    engagementType: engagementTypeName(b),
    direction: str(b.direction),
    subject: str(b.subject),
    content: str(b.content),
    startTime: str(b.startTime),
    startTimeLocalized: str(b.startTimeLocalized),
    endTime: str(b.endTime),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    opportunityId: opportunityExternalId === undefined ? undefined : links.opportunityId(opportunityExternalId),
    accountId: accountIdOf(b, links),
    organizationId,
    account: b.account ?? null,
    engagementUsers: Array.isArray(b.engagementUsers) ? b.engagementUsers : [],
  };
}

function opportunityData(record: SandboxObjectRecord, organizationId: string, links: LinkedIds): Json {
  const b = record.body;
  return {
    id: record.id,
    externalId: record.externalId,
    name: str(b.name) ?? null,
    amount: typeof b.amount === 'number' ? b.amount : undefined,
    closedAt: str(b.closedAt),
    disposition: str(b.disposition),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    accountId: accountIdOf(b, links),
    organizationId,
    account: b.account ?? null,
    opportunityUsers: Array.isArray(b.opportunityUsers) ? b.opportunityUsers : [],
  };
}

/** Per Siro object: the prefix of the ids the sandbox gives, and the `data` it answers for one record. */
export const OBJECT_ANSWERS: Readonly<
  Record<SiroObject, { idPrefix: string; data: (record: SandboxObjectRecord, organizationId: string, links: LinkedIds) => Json }>
> = {
  engagement: { idPrefix: 'eng', data: engagementData },
  opportunity: { idPrefix: 'opp', data: opportunityData },
};

export function callerIdentity(token: SandboxToken, tokenId: string, createdAt: string): Json {
  return {
    tokenId,
    tokenName: token.tokenName,
    organizationId: token.organizationId,
    authorizedOrgGroupId: null,
    parentOrgGroupTokenId: null,
    createdAt,
    createdBy: null,
  };
}

export function zodError(issues: SiroIssue[]): Json {
  return { name: 'ZodError', issues };
}

export function errorBody(message: string): Json {
  return { error: message };
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** A 200 that is not Siro's answer (the notSiro fault): what a login page, a proxy or a wrong service sends. */
export function sendNotSiro(res: ServerResponse, kind: 'html' | 'empty' | 'no-items'): void {
  const [type, text] =
    kind === 'html'
      ? ['text/html; charset=utf-8', '<!doctype html><html><head><title>Sign in</title></head><body><form>Sign in to continue</form></body></html>']
      : kind === 'empty'
        ? ['application/json', '']
        : [JSON_TYPE, '{"data":[]}'];
  res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': JSON_TYPE,
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
