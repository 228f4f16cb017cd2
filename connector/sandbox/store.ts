import type { SandboxObjectRecord } from './types.js';

/**
 * Upsert store of one Siro object type, keyed by externalId. Siro's sync semantics: the last write wins and
 * replaces the whole stored payload; the Siro id stays the same for the life of the externalId.
 */
export class ObjectStore {
  private readonly records = new Map<string, SandboxObjectRecord>();
  private nextId = 1;

  constructor(private readonly idPrefix: string) {}

  upsert(body: Record<string, unknown>, now: string): SandboxObjectRecord {
    const externalId = body.externalId as string;
    const existing = this.records.get(externalId);
    // A payload may itself mark the record deleted (or live again, by omitting deletedAt).
    const deletedAt = typeof body.deletedAt === 'string' ? body.deletedAt : null;
    if (existing) {
      existing.body = body;
      existing.updatedAt = now;
      existing.writes++;
      existing.deletedAt = deletedAt;
      return existing;
    }
    const record: SandboxObjectRecord = {
      id: `${this.idPrefix}_${this.nextId++}`,
      externalId,
      body,
      createdAt: now,
      updatedAt: now,
      writes: 1,
      deletedAt,
    };
    this.records.set(externalId, record);
    return record;
  }

  get(externalId: string): SandboxObjectRecord | undefined {
    return this.records.get(externalId);
  }

  values(): IterableIterator<SandboxObjectRecord> {
    return this.records.values();
  }

  /** Copies, so callers cannot change the store by accident. */
  list(): SandboxObjectRecord[] {
    return [...this.records.values()].map((r) => ({ ...r }));
  }

  clear(): void {
    this.records.clear();
    this.nextId = 1;
  }
}

/** Siro ids for nested objects that carry an externalId (accounts), so responses can name an accountId. */
export class IdRegistry {
  private readonly ids = new Map<string, string>();

  constructor(private readonly idPrefix: string) {}

  idFor(externalId: string): string {
    let id = this.ids.get(externalId);
    if (!id) {
      id = `${this.idPrefix}_${this.ids.size + 1}`;
      this.ids.set(externalId, id);
    }
    return id;
  }

  clear(): void {
    this.ids.clear();
  }
}
