import type { SandboxObjectRecord, SandboxStats } from '../connector/sandbox/server.js';

/**
 * What Siro holds, read back over HTTP from the sandbox's `/_sandbox/*` endpoints (the same way a person
 * would look with curl), and which engagements a run wrote, from the per-record write counts.
 */

export async function fetchEngagements(baseUrl: string): Promise<SandboxObjectRecord[]> {
  const res = await fetch(`${baseUrl}/_sandbox/engagements`);
  if (!res.ok) throw new Error(`GET /_sandbox/engagements answered ${res.status}`);
  return ((await res.json()) as { data: SandboxObjectRecord[] }).data;
}

export async function fetchStats(baseUrl: string): Promise<SandboxStats> {
  const res = await fetch(`${baseUrl}/_sandbox/stats`);
  if (!res.ok) throw new Error(`GET /_sandbox/stats answered ${res.status}`);
  return (await res.json()) as SandboxStats;
}

/** Writes per externalId at one moment. */
export type WriteCounts = Map<string, number>;

export function writeCounts(records: readonly SandboxObjectRecord[]): WriteCounts {
  return new Map(records.map((r) => [r.externalId, r.writes]));
}

/** ExternalIds written between two snapshots (new ones and ones written again), sorted as numbers where they are. */
export function writtenBetween(before: WriteCounts, after: WriteCounts): string[] {
  const ids = [...after].filter(([id, writes]) => writes > (before.get(id) ?? 0)).map(([id]) => id);
  return ids.sort(compareIds);
}

export function compareIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  return a < b ? -1 : a > b ? 1 : 0;
}
