import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../connector/config/settings.js';
import type { Sandbox } from '../../connector/sandbox/server.js';
import { DEFAULT_SYNC_LOG_RETENTION_DAYS, SyncLogBatch, ledgerOpenOptions, type LedgerStore, type SyncLogRow } from '../../connector/ledger/store.js';
import { postgresBackend, sqliteBackend } from './backends.js';
import { fullTable, rows, run, type Row } from './harness.js';
import { sandboxPerFile } from '../support/sandbox.js';

/**
 * The sync log: one row per record per run, written with the ledger's own writes, telling what the target
 * did with the row (operation) and what came of it (status), on both ledger backends.
 */

let sandbox: Sandbox;
sandboxPerFile((s) => (sandbox = s));

const invalid = { direction: 'SIDEWAYS' };
const deleted = { deletedAt: '2024-05-01T00:00:00.000Z' };

/** The log of a run as `externalId operation status [http] [stage]`, sorted (outcomes arrive in any order). */
function summary(log: SyncLogRow[]): string[] {
  return log
    .map((r) => [r.externalId, r.operation, r.status, r.httpStatus, r.stage].filter((v) => v !== null).join(' '))
    .sort();
}

describe.each([sqliteBackend(), postgresBackend()])('sync log ($name ledger)', (backend) => {
  beforeAll(() => backend.setup());
  afterAll(() => backend.teardown());
  let store: LedgerStore;
  beforeEach(async () => {
    sandbox.setFaults({ rateLimitPerMinute: 0 });
    sandbox.reset();
    store = await backend.open(backend.fresh());
    return () => store.close();
  });

  it('holds one row per record per run with the operation and what came of it', async () => {
    const opts = { store, sandbox, maxDeleteFraction: 0.5 };
    const run1 = await run(
      [...fullTable([{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }, { id: 'bad', extra: invalid }], 1), { unsent: { externalId: 'x' } }],
      opts,
    );
    expect(run1.error).toBeUndefined();
    expect(summary(await store.syncLogOfRun(run1.runId))).toEqual([
      'a create acked',
      'b create acked',
      'bad create rejected 422 siro',
      'c create acked',
      'd create acked',
      'x reject rejected mapping',
    ]);

    // Unchanged, updated, deleted by the mapping (deletedAt), gone from the table (the sweep deletes it),
    // refused again by Siro and by the mapping, and new.
    const run2 = await run(
      [
        { activate: 2 },
        { row: { id: 'a' } },
        { row: { id: 'b', subject: 'changed' } },
        { row: { id: 'd', extra: deleted } },
        { row: { id: 'bad', extra: invalid } },
        { unsent: { externalId: 'x' } },
        { row: { id: 'e' } },
        { activate: 2 },
      ],
      opts,
    );
    expect(run2.error).toBeUndefined();
    const log2 = await store.syncLogOfRun(run2.runId);
    expect(summary(log2)).toEqual([
      'a unchanged unchanged',
      'b update acked',
      'bad create rejected 422 siro',
      'c delete acked',
      'd delete acked',
      'e create acked',
      'x reject rejected mapping',
    ]);
    const bad = log2.find((r) => r.externalId === 'bad')!;
    expect(bad).toMatchObject({ runId: run2.runId, stream: 'calls', object: 'engagement', message: expect.stringContaining('direction') });
    expect(log2.find((r) => r.externalId === 'x')?.message).toBe('mapping: bad date');
    expect(log2.find((r) => r.externalId === 'a')).toMatchObject({ httpStatus: null, stage: null, message: null });
    expect(Date.parse(bad.at)).toBeGreaterThan(Date.now() - 60_000);

    // A soft-deleted row comes back; a refused row not read again is retried at the end of the run.
    const run3 = await run(fullTable([{ id: 'a' }, { id: 'b', subject: 'changed' }, { id: 'c' }, { id: 'd', extra: deleted }, { id: 'e' }], 3), opts);
    expect(run3.error).toBeUndefined();
    expect(summary(await store.syncLogOfRun(run3.runId))).toEqual([
      'a unchanged unchanged',
      'b unchanged unchanged',
      'bad create rejected 422 siro',
      'c resurrect acked',
      'd unchanged unchanged',
      'e unchanged unchanged',
    ]);

    // The log agrees with the ledger: what it says was acknowledged last is what the ledger holds.
    expect((await store.get('engagement', 'c'))?.runId).toBe(run3.runId);
    expect((await store.get('engagement', 'bad'))?.rejectedRunId).toBe(run3.runId);

    // One row's story, newest first; narrowed by object and stream.
    const story = await store.syncLog({ externalId: 'c', limit: 10 });
    expect(story.map((r) => [r.runId, r.operation, r.status])).toEqual([
      [run3.runId, 'resurrect', 'acked'],
      [run2.runId, 'delete', 'acked'],
      [run1.runId, 'create', 'acked'],
    ]);
    expect(await store.syncLog({ externalId: 'c', object: 'opportunity', limit: 10 })).toEqual([]);
    expect(await store.syncLog({ externalId: 'c', stream: 'calls', limit: 2 })).toHaveLength(2);
    expect(await store.countSyncLog({ externalId: 'c' })).toBe(3);
  });

  it('a dry run writes no sync log row', async () => {
    const first = await run(fullTable(rows(5), 1), { store, sandbox });
    expect(first.error).toBeUndefined();
    const dry = await run([...fullTable([{ id: 'c001', subject: 'new' }, { id: 'c009' }], 2), { unsent: { externalId: 'x' } }], { store, dryRun: true, dryRunOutput: '/dev/null' });
    expect(dry.error).toBeUndefined();
    expect(await store.syncLogOfRun(dry.runId)).toEqual([]);
    expect(await store.countSyncLog({ externalId: 'c001' })).toBe(1);
  });

  it('logs every unchanged row of a re-run, in batches', async () => {
    const table: Row[] = rows(1_300);
    const first = await run(fullTable(table, 1), { store, sandbox });
    expect(first.error).toBeUndefined();
    const again = await run([...fullTable(table, 2), { state: true }], { store, sandbox });
    expect(again.error).toBeUndefined();
    expect(again.tally).toEqual({ 'unchanged:record': 1_300 });
    const log = await store.syncLogOfRun(again.runId);
    expect(log).toHaveLength(1_300);
    expect(new Set(log.map((r) => r.externalId)).size).toBe(1_300);
    expect(log.every((r) => r.operation === 'unchanged' && r.status === 'unchanged')).toBe(true);
  });

  it('prunes the rows of runs older than the retention at the end of a run, never after a dry run, never with 0', async () => {
    const opts = backend.fresh();
    const day = 86_400_000;
    const old = new Date(Date.now() - 40 * day).toISOString();
    const recent = new Date(Date.now() - 2 * day).toISOString();
    const logRows = async (s: LedgerStore, runId: string, at: string) => {
      const log = new SyncLogBatch(runId, at);
      log.add({ stream: 'calls', object: 'engagement', externalId: 'p1' }, 'create', 'acked');
      log.add({ stream: 'calls', object: 'engagement', externalId: 'p2' }, 'reject', 'rejected', { stage: 'mapping', message: 'bad' });
      await s.write([], log);
    };
    const keepAll = await backend.open({ ...opts, syncLogRetentionDays: 0 });
    try {
      await keepAll.startRun({ runId: 'old', dryRun: false, startedAt: old });
      await logRows(keepAll, 'old', old);
      await keepAll.finishRun('old', { status: 'ok', endedAt: old });
      await keepAll.startRun({ runId: 'recent', dryRun: false, startedAt: recent });
      await logRows(keepAll, 'recent', recent);
      await keepAll.finishRun('recent', { status: 'ok' });
      expect(await keepAll.countSyncLog({ externalId: 'p1' })).toBe(2);
    } finally {
      await keepAll.close();
    }
    const pruning = await backend.open({ ...opts, syncLogRetentionDays: 30 });
    try {
      await pruning.startRun({ runId: 'dry', dryRun: true });
      await pruning.finishRun('dry', { status: 'ok' });
      expect(await pruning.countSyncLog({ externalId: 'p1' })).toBe(2);
      await pruning.startRun({ runId: 'now', dryRun: false });
      await pruning.finishRun('now', { status: 'ok' });
      expect((await pruning.syncLog({ externalId: 'p1', limit: 10 })).map((r) => r.runId)).toEqual(['recent']);
      expect((await pruning.syncLog({ externalId: 'p2', limit: 10 })).map((r) => [r.runId, r.message])).toEqual([['recent', 'bad']]);
      // The runs themselves stay.
      const runs = (await pruning.recentRuns(10)).map((r) => r.runId);
      expect([...runs.slice(0, 2)].sort()).toEqual(['dry', 'now']);
      expect(runs.slice(2)).toEqual(['recent', 'old']);
    } finally {
      await pruning.close();
    }
  });
});

describe('sync log retention setting', () => {
  it('defaults to 90 days', () => {
    const settings = loadSettings({ env: {}, overrides: { dry_run: true } });
    expect(DEFAULT_SYNC_LOG_RETENTION_DAYS).toBe(90);
    expect(ledgerOpenOptions(settings).syncLogRetentionDays).toBe(90);
  });
});
