import knex from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../connector/ledger/fingerprint.js';
import type { LedgerStore, LedgerWrite } from '../../connector/ledger/store.js';
import { postgresBackend, sqliteBackend } from './backends.js';

const at = '2024-05-01T10:00:00.000Z';

function ack(externalId: string, extra: Partial<Extract<LedgerWrite, { kind: 'ack' }>> = {}): LedgerWrite {
  const payload = { externalId, subject: `s-${externalId}` };
  return {
    kind: 'ack',
    object: 'engagement',
    externalId,
    stream: 'calls',
    fingerprint: fingerprint(payload),
    siroId: `eng_${externalId}`,
    payload: JSON.stringify(payload),
    runId: 'run-1',
    deletedAt: null,
    at,
    ...extra,
  };
}

function reject(externalId: string, extra: Partial<Extract<LedgerWrite, { kind: 'reject' }>> = {}): LedgerWrite {
  return {
    kind: 'reject',
    object: 'engagement',
    externalId,
    stream: 'calls',
    reason: 'direction: Invalid enum value',
    status: 422,
    payload: JSON.stringify({ externalId, direction: 'SIDEWAYS' }),
    runId: 'run-2',
    at,
    ...extra,
  };
}

describe.each([sqliteBackend(), postgresBackend()])('ledger store ($name)', (backend) => {
  beforeAll(() => backend.setup());
  afterAll(() => backend.teardown());

  async function withStore<T>(fn: (store: LedgerStore) => Promise<T>): Promise<T> {
    const store = await backend.open(backend.fresh());
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  }

  it('creates its schema at open and opening again changes nothing (migrations are idempotent)', async () => {
    const opts = backend.fresh();
    const first = await backend.open(opts);
    await first.write([ack('e1')]);
    await first.close();
    const second = await backend.open(opts);
    const third = await backend.open(opts);
    try {
      expect((await second.get('engagement', 'e1'))?.fingerprint).toBe(fingerprint({ externalId: 'e1', subject: 's-e1' }));
      expect(second.kind).toBe(backend.name);
      // The location is for logs: it never carries the password of a Postgres URL.
      if (opts.url) expect(second.location).not.toContain(new URL(opts.url).password);
    } finally {
      await second.close();
      await third.close();
    }
    // One migration recorded, once.
    const db =
      backend.name === 'sqlite'
        ? knex({ client: 'better-sqlite3', connection: { filename: opts.path! }, useNullAsDefault: true })
        : knex({ client: 'pg', connection: opts.url!, searchPath: [opts.schema!] });
    try {
      const rows = await db('ledger_migrations').select('name');
      expect(rows.map((r: { name: string }) => r.name)).toEqual(['001_ledger_objects_and_runs', '002_rejected_source', '003_sync_log']);
      if (backend.name === 'sqlite') {
        const mode = await db.raw('PRAGMA journal_mode');
        expect(JSON.stringify(mode).toLowerCase()).toContain('wal');
      } else {
        // The tables live in the configured schema, not in public.
        const tables = await db('information_schema.tables').select('table_name').where('table_schema', opts.schema!);
        expect(tables.map((t: { table_name: string }) => t.table_name).sort()).toEqual(
          ['ledger_migrations', 'ledger_migrations_lock', 'ledger_objects', 'runs', 'sync_log'].sort(),
        );
      }
    } finally {
      await db.destroy();
    }
  });

  it('writes and looks up thousands of rows in bulk, chunked', async () => {
    await withStore(async (store) => {
      const ids = Array.from({ length: 1500 }, (_, i) => `e${i}`);
      await store.write(ids.map((id) => ack(id)));
      const asked = [...ids.slice(0, 1200), 'missing-1', 'missing-2'];
      const found = await store.lookup('engagement', asked);
      expect(found.size).toBe(1200);
      expect(found.get('e7')).toEqual({ fingerprint: fingerprint({ externalId: 'e7', subject: 's-e7' }), rejected: false, deleted: false });
      expect(found.has('missing-1')).toBe(false);
      // Another object with the same externalIds is another row.
      expect((await store.lookup('opportunity', ids)).size).toBe(0);
      expect(await store.countLive('calls')).toBe(1500);
    });
  });

  it('marks rows read in a pass and finds the live rows the pass did not read, page by page', async () => {
    await withStore(async (store) => {
      const ids = Array.from({ length: 1203 }, (_, i) => `e${String(i).padStart(4, '0')}`);
      await store.write(ids.map((id) => ack(id)));
      await store.write([ack('gone-deleted', { deletedAt: at }), ack('other-stream', { stream: 'meetings' })]);
      const read = ids.filter((_, i) => i % 3 !== 0);
      await store.lookup('engagement', read, { pass: 'run-9:1', stream: 'calls', every: true });
      const unseen = ids.filter((_, i) => i % 3 === 0);
      expect(await store.countUnseen('calls', 'run-9:1')).toBe(unseen.length);
      const pages: string[] = [];
      let after: { object: string; externalId: string } | undefined;
      for (;;) {
        const page = await store.unseenPage('calls', 'run-9:1', after, 100);
        pages.push(...page.map((k) => k.externalId));
        if (page.length < 100) break;
        after = page[page.length - 1];
      }
      expect(pages).toEqual(unseen);
      // markSeen (refusals before delivery) marks by stream and externalId.
      await store.markSeen('calls', unseen, 'run-9:1');
      expect(await store.countUnseen('calls', 'run-9:1')).toBe(0);
      expect((await store.get('engagement', 'e0001'))?.lastPass).toBe('run-9:1');
    });
  });

  it('records refusals, keeps them until a payload is acknowledged, and lists rows to retry', async () => {
    await withStore(async (store) => {
      await store.write([ack('e1'), ack('e2')]);
      await store.write([reject('e1'), reject('new-1', { status: undefined, payload: null, reason: 'mapping: startTime is not a date' })]);
      const e1 = (await store.get('engagement', 'e1'))!;
      expect(e1.lastRejectionReason).toBe('direction: Invalid enum value');
      expect(e1.rejectedStatus).toBe(422);
      expect(e1.rejectedPayload).toEqual({ externalId: 'e1', direction: 'SIDEWAYS' });
      // The acknowledged state is kept: Siro still holds the earlier payload.
      expect(e1.payload).toEqual({ externalId: 'e1', subject: 's-e1' });
      expect((await store.lookup('engagement', ['e1'])).get('e1')?.rejected).toBe(true);
      // A row refused before it was ever acknowledged is not live (Siro does not have it).
      expect(await store.countLive('calls')).toBe(2);
      expect(await store.countRejected()).toBe(2);
      const retriable = await store.rejectedPage({ withPayload: true, limit: 10 });
      expect(retriable.map((r) => r.externalId)).toEqual(['e1']);
      // Rows read in the current run are left out of retries.
      await store.lookup('engagement', ['e1'], { pass: 'run-3:1', stream: 'calls', every: false });
      expect(await store.rejectedPage({ withPayload: true, notSeenInRun: 'run-3', limit: 10 })).toEqual([]);
      expect((await store.rejectedPage({ withPayload: true, notSeenInRun: 'run-4', limit: 10 })).length).toBe(1);

      await store.write([ack('e1', { runId: 'run-3', siroId: undefined })]);
      const after = (await store.get('engagement', 'e1'))!;
      expect(after.lastRejectedAt).toBeNull();
      expect(after.rejectedPayload).toBeNull();
      // An ack without an id keeps the id Siro gave before.
      expect(after.siroId).toBe('eng_e1');
      await store.write([{ kind: 'clear-rejection', object: 'engagement', externalId: 'new-1' }]);
      expect(await store.countRejected()).toBe(0);
    });
  });

  it('applies several outcomes of the same key in one batch in order (the last one wins)', async () => {
    await withStore(async (store) => {
      const v2 = { externalId: 'e1', subject: 'second' };
      await store.write([ack('e1'), reject('e1'), ack('e1', { fingerprint: fingerprint(v2), payload: JSON.stringify(v2) }), ack('e2')]);
      const row = (await store.get('engagement', 'e1'))!;
      expect(row.payload).toEqual(v2);
      expect(row.lastRejectedAt).toBeNull();
      await store.write([ack('e3'), ack('e3', { deletedAt: at }), reject('e3')]);
      const e3 = (await store.get('engagement', 'e3'))!;
      expect(e3.deletedAt).not.toBeNull();
      expect(e3.rejectedStatus).toBe(422);
    });
  });

  it('keeps payloads exactly, big integers included', async () => {
    await withStore(async (store) => {
      const text = '{"externalId":"e1","amount":12345678901234567890}';
      await store.write([ack('e1', { payload: text })]);
      expect((await store.get('engagement', 'e1'))?.payload).toEqual({ externalId: 'e1', amount: 12345678901234567890n });
    });
  });

  it('records runs with their counts and last state', async () => {
    await withStore(async (store) => {
      await store.startRun({ runId: 'r1', dryRun: false, startedAt: '2024-05-01T10:00:00.000Z' });
      await store.startRun({ runId: 'r2', dryRun: true, startedAt: '2024-05-01T11:00:00.000Z' });
      expect((await store.getRun('r1'))?.status).toBe('running');
      await store.finishRun('r1', {
        status: 'ok',
        counts: { read: 10, sent: 4, unchanged: 5, rejected: 1, deleted: 0 },
        lastState: '{"bookmarks":{"calls":1}}',
      });
      await store.finishRun('r2', { status: 'interrupted', lastState: null });
      const r1 = (await store.getRun('r1'))!;
      expect(r1).toMatchObject({ status: 'ok', dryRun: false, read: 10, sent: 4, unchanged: 5, rejected: 1, deleted: 0, kind: 'sync' });
      expect(r1.lastState).toBe('{"bookmarks":{"calls":1}}');
      expect(r1.endedAt).not.toBeNull();
      expect(await store.getRun('r2')).toMatchObject({ status: 'interrupted', dryRun: true, lastState: null, startedAt: '2024-05-01T11:00:00.000Z' });
    });
  });
});
