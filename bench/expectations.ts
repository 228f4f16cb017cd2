import { readFileSync, existsSync } from 'node:fs';
import type { SandboxObjectRecord } from '../connector/sandbox/index.js';
import { loadMappings } from '../connector/mapping/index.js';
import { parseExact } from '../connector/singer/exact-json.js';
import { STREAM, type Dataset, type InvalidKind } from './singer-data.js';

/**
 * What Siro should hold after the target has processed a generated dataset: for each valid externalId
 * the payloads of its versions in input order (computed with the same mapping module and parser the
 * target uses, in this process), and the keys of the records that must be rejected.
 */

/** JSON with sorted keys: two payloads are the same whatever order their keys were written in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

interface Versions {
  positions: number[];
  payloads: string[];
}

export interface RecordExpectation {
  externalId: string;
  /** Index of this record's payload among its externalId's versions. */
  version: number;
}

export interface ContentCheck {
  /** Valid externalIds Siro does not hold. */
  missing: number;
  /** Held, but not with the payload of the last record for that id. */
  stale: number;
  /** Held although no valid record has that id. */
  unexpected: number;
  /** The missing and stale ids. */
  lostIds: Set<string>;
  examples: string[];
}

export class Expectations {
  private readonly versions = new Map<string, Versions>();
  /** Per position: what the record means for Siro (undefined for a record that must be rejected). */
  private readonly byPosition: (RecordExpectation | undefined)[] = [];
  /** Key text (`id=...`) of each record that must be rejected, with how it is broken. */
  readonly invalidKeys = new Map<string, InvalidKind>();

  constructor(readonly dataset: Dataset, mappingFile: string) {
    const mapping = loadMappings(mappingFile).forStream(STREAM);
    if (!mapping) throw new Error(`${mappingFile} has no mapping for stream ${STREAM}`);
    for (let p = 1; p <= dataset.records; p++) {
      const info = dataset.info(p);
      if (info.invalid) {
        this.invalidKeys.set(`id=${info.idText}`, info.invalid);
        continue;
      }
      const message = parseExact(dataset.recordLine(p)) as { record: Record<string, unknown> };
      const mapped = mapping.map(message.record);
      if (!mapped.ok) throw new Error(`generated record ${p} was meant to be valid but does not map: ${mapped.reasons.join('; ')}`);
      let v = this.versions.get(mapped.externalId);
      if (!v) this.versions.set(mapped.externalId, (v = { positions: [], payloads: [] }));
      v.positions.push(p);
      v.payloads.push(canonicalJson(mapped.payload));
      this.byPosition[p] = { externalId: mapped.externalId, version: v.positions.length - 1 };
    }
  }

  get validIds(): number {
    return this.versions.size;
  }

  /** Valid records (positions) whose id is among `ids`. */
  recordsOf(ids: Set<string>): number {
    let n = 0;
    for (const [id, v] of this.versions) if (ids.has(id)) n += v.positions.length;
    return n;
  }

  at(position: number): RecordExpectation | undefined {
    return this.byPosition[position];
  }

  /** Which version of the id a stored body is (the latest one with that payload), or -1. */
  versionOf(externalId: string, body: unknown): number {
    const v = this.versions.get(externalId);
    if (!v) return -1;
    return v.payloads.lastIndexOf(canonicalJson(body));
  }

  /** The store against the end state: every valid id with its last payload, nothing else. */
  checkFinal(stored: SandboxObjectRecord[]): ContentCheck {
    const result: ContentCheck = { missing: 0, stale: 0, unexpected: 0, lostIds: new Set(), examples: [] };
    const byId = new Map(stored.map((r) => [r.externalId, r]));
    for (const [externalId, v] of this.versions) {
      const record = byId.get(externalId);
      if (!record) {
        result.missing++;
        result.lostIds.add(externalId);
        if (result.examples.length < 5) result.examples.push(`missing ${externalId}`);
      } else if (canonicalJson(record.body) !== v.payloads[v.payloads.length - 1]) {
        result.stale++;
        result.lostIds.add(externalId);
        if (result.examples.length < 5) result.examples.push(`stale ${externalId} (holds version ${this.versionOf(externalId, record.body)} of ${v.payloads.length})`);
      }
    }
    for (const r of stored) {
      if (!this.versions.has(r.externalId)) {
        result.unexpected++;
        if (result.examples.length < 5) result.examples.push(`unexpected ${r.externalId}`);
      }
    }
    return result;
  }
}

/** The rejects file's entries: key → reasons (the last entry for a key wins). */
export function readRejects(path: string): Map<string, { reasons: string[]; stage: string }> {
  const out = new Map<string, { reasons: string[]; stage: string }>();
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const entry = JSON.parse(line) as { key: string; reasons: string[]; stage: string };
    out.set(entry.key, { reasons: entry.reasons, stage: entry.stage });
  }
  return out;
}
