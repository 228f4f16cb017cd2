import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint } from '../../connector/ledger/fingerprint.js';
import { LedgerError, type LedgerRow, type LedgerStore } from '../../connector/ledger/store.js';
import { createSiroSink } from '../../connector/delivery/siro-sink.js';
import { FatalApiError } from '../../connector/core/errors.js';
import type { Sandbox } from '../../connector/sandbox/server.js';
import { postgresBackend, sqliteBackend } from './backends.js';
import { createLedgerSink } from '../../connector/ledger/ledger-sink.js';
import type { Outcome } from '../../connector/delivery/sink.js';
import { outboundItem } from '../support/siro-payloads.js';
import { captureLogger, fullTable, payloadOf, rows, run, siroInner, type Row } from './harness.js';
import { jsonLines } from '../support/json-lines.js';
import { sandboxPerFile, tempDirPerFile } from '../support/sandbox.js';

let sandbox: Sandbox;
sandboxPerFile((s) => (sandbox = s));
const tmp = tempDirPerFile('ledger-sink-');

/** Every ledger row, for before/after comparisons. */
async function snapshot(store: LedgerStore, ids: string[]): Promise<(LedgerRow | undefined)[]> {
  return Promise.all(ids.map((id) => store.get('engagement', id)));
}

const invalid = { direction: 'SIDEWAYS' }; // not in Siro's enum: the sandbox answers 422

describe.each([sqliteBackend(), postgresBackend()])('ledger sink with the Siro sink ($name ledger)', (backend) => {
  let store: LedgerStore;
  let ledgerPath: string | undefined;

  beforeAll(() => backend.setup());
  afterAll(() => backend.teardown());
  beforeEach(async () => {
    sandbox.reset();
    sandbox.setFaults({});
    const opts = backend.fresh();
    ledgerPath = opts.path;
    store = await backend.open(opts);
    return () => store.close();
  });

  it('sends nothing the second time the same full table comes, and only the changed row after a change', async () => {
    const table = rows(120);
    const first = await run(fullTable(table, 1), { store, sandbox });
    expect(first.error).toBeUndefined();
    expect(first.tally).toEqual({ 'acked:record': 120 });
    const written = sandbox.stats().itemsWritten;
    const requests = sandbox.stats().requests;
    expect(written).toBe(120);
    const row = await store.get('engagement', 'c007');
    expect(row).toMatchObject({ stream: 'calls', runId: first.runId, fingerprint: fingerprint(payloadOf({ id: 'c007' })), deletedAt: null });
    expect(row?.siroId).toBe(sandbox.engagements().find((e) => e.externalId === 'c007')?.id);
    expect(row?.payload).toEqual(payloadOf({ id: 'c007' }));

    const second = await run(fullTable(table, 2), { store, sandbox });
    expect(second.tally).toEqual({ 'unchanged:record': 120 });
    expect(second.sink.ledgerCounts().unchanged).toBe(120);
    expect(sandbox.stats().requests).toBe(requests);

    const changed: Row[] = table.map((r) => (r.id === 'c050' ? { ...r, subject: 'Rescheduled' } : r));
    const third = await run(fullTable(changed, 3), { store, sandbox });
    expect(third.tally).toEqual({ 'unchanged:record': 119, 'acked:record': 1 });
    expect(sandbox.stats().itemsWritten).toBe(written + 1);
    expect(sandbox.engagements().find((e) => e.externalId === 'c050')?.body.subject).toBe('Rescheduled');
    expect((await store.get('engagement', 'c050'))?.runId).toBe(third.runId);

    // --full-resync: everything is sent again, and the ledger stays right.
    const resync = await run(fullTable(changed, 4), { store, sandbox, skipUnchanged: false });
    expect(resync.tally).toEqual({ 'acked:record': 120 });
  });

  it('handles a STATE after every record (flushPending) without losing or repeating an outcome', async () => {
    const steps = rows(300).flatMap((row) => [{ row }, { state: true as const }]);
    const first = await run(steps, { store, sandbox });
    expect(first.tally).toEqual({ 'acked:record': 300 });
    const second = await run(steps, { store, sandbox });
    expect(second.tally).toEqual({ 'unchanged:record': 300 });
    expect(new Set(second.outcomes.map((o) => o.item.seq)).size).toBe(300);
  });

  it('records a row Siro refuses, retries it next run, and forgets the refusal once a payload is accepted', async () => {
    const first = await run([{ row: { id: 'ok-1' } }, { row: { id: 'bad-1', extra: invalid } }], { store, sandbox });
    expect(first.tally).toEqual({ 'acked:record': 1, 'rejected:record': 1 });
    const refused = (await store.get('engagement', 'bad-1'))!;
    expect(refused).toMatchObject({ ackedAt: null, rejectedStatus: 422, rejectedRunId: first.runId });
    expect(refused.lastRejectionReason).toContain('direction');
    expect(refused.rejectedPayload).toEqual(payloadOf({ id: 'bad-1', extra: invalid }));

    // Next run without the row: its last payload is retried (Siro still refuses it; it stays listed).
    const before = sandbox.stats().requests;
    const second = await run([{ row: { id: 'ok-1' } }], { store, sandbox });
    expect(second.tally).toEqual({ 'unchanged:record': 1, 'rejected:retry': 1 });
    expect(sandbox.stats().requests).toBeGreaterThan(before);
    expect((await store.get('engagement', 'bad-1'))?.rejectedRunId).toBe(second.runId);

    // The row comes again, fixed: its new payload wins, the refused one is not sent again.
    const third = await run([{ row: { id: 'bad-1', subject: 'fixed' } }], { store, sandbox });
    expect(third.tally).toEqual({ 'acked:record': 1 });
    const fixed = (await store.get('engagement', 'bad-1'))!;
    expect(fixed).toMatchObject({ lastRejectedAt: null, rejectedPayload: null, runId: third.runId });
    expect(await store.countRejected()).toBe(0);
    expect(sandbox.engagements().find((e) => e.externalId === 'bad-1')?.body.subject).toBe('fixed');

    // Nothing left to retry.
    const fourth = await run([], { store, sandbox });
    expect(fourth.tally).toEqual({});
  });

  it('retries a refused payload that Siro accepts now, and the row leaves the rejected list', async () => {
    // A refusal recorded earlier (e.g. a linked object Siro did not know yet) with a payload that is valid.
    const payload = payloadOf({ id: 'late-1' });
    await store.write([
      { kind: 'reject', object: 'engagement', externalId: 'late-1', stream: 'calls', reason: 'opportunity not found', status: 400, payload: JSON.stringify(payload), runId: 'earlier', at: new Date().toISOString() },
    ]);
    const result = await run([{ row: { id: 'other' } }], { store, sandbox });
    expect(result.tally).toEqual({ 'acked:record': 1, 'acked:retry': 1 });
    expect(result.sink.ledgerCounts().retriesQueued).toBe(1);
    expect(await store.countRejected()).toBe(0);
    const row = (await store.get('engagement', 'late-1'))!;
    expect(row).toMatchObject({ runId: result.runId, fingerprint: fingerprint(payload) });
    expect(row.ackedAt).not.toBeNull();
    expect(sandbox.engagements().map((e) => e.externalId).sort()).toEqual(['late-1', 'other']);
  });

  it('records records refused before delivery (noteUnsent); they are not retried, and the row still counts as present', async () => {
    await run(fullTable(rows(10), 1), { store, sandbox });
    const steps = fullTable(rows(10).filter((r) => r.id !== 'c004'), 2);
    steps.splice(3, 0, { unsent: { externalId: 'c004', reasons: ['mapping: startTime is not a date'] } });
    const second = await run(steps, { store, sandbox });
    expect(second.tally).toEqual({ 'unchanged:record': 9 });
    const row = (await store.get('engagement', 'c004'))!;
    expect(row).toMatchObject({ lastRejectionReason: 'mapping: startTime is not a date', rejectedPayload: null, deletedAt: null, rejectedRunId: second.runId });
    expect(sandbox.engagements().every((e) => !e.deletedAt)).toBe(true);

    const third = await run([], { store, sandbox });
    expect(third.tally).toEqual({});
    expect(await store.countRejected()).toBe(1);
  });

  it('soft-deletes a row gone from a full table, once, and brings it back when it returns', async () => {
    const table = rows(10);
    await run(fullTable(table, 1), { store, sandbox });
    const without = table.filter((r) => r.id !== 'c003');
    const second = await run(fullTable(without, 2), { store, sandbox });
    expect(second.tally).toEqual({ 'unchanged:record': 9, 'acked:delete': 1 });
    const deleted = sandbox.engagements().find((e) => e.externalId === 'c003')!;
    expect(deleted.deletedAt).toEqual(expect.any(String));
    expect((await store.get('engagement', 'c003'))?.deletedAt).toBe(deleted.deletedAt);
    expect(await store.countLive('calls')).toBe(9);

    const third = await run(fullTable(without, 3), { store, sandbox });
    expect(third.tally).toEqual({ 'unchanged:record': 9 });

    const fourth = await run(fullTable(table, 4), { store, sandbox });
    expect(fourth.tally).toEqual({ 'unchanged:record': 9, 'acked:record': 1 });
    const back = sandbox.engagements().find((e) => e.externalId === 'c003')!;
    expect(back.deletedAt).toBeNull();
    expect(back.body.deletedAt).toBeNull();
    expect((await store.get('engagement', 'c003'))?.deletedAt).toBeNull();
    // The ledger keeps the mapped payload's fingerprint: the next run finds the row unchanged.
    const fifth = await run(fullTable(table, 5), { store, sandbox });
    expect(fifth.tally).toEqual({ 'unchanged:record': 10 });
    // A row the source itself marks deleted (the mapping sets deletedAt) is recorded as deleted, and not
    // re-sent while it stays the same.
    const sourceDeleted = { id: 'c004', extra: { deletedAt: '2024-01-01T00:00:00.000Z' } };
    const marked = await run([{ row: sourceDeleted }], { store, sandbox });
    expect(marked.tally).toEqual({ 'acked:record': 1 });
    expect((await store.get('engagement', 'c004'))?.deletedAt).toBe('2024-01-01T00:00:00.000Z');
    const again = await run([{ row: sourceDeleted }], { store, sandbox });
    expect(again.tally).toEqual({ 'unchanged:record': 1 });
  });

  it('sees a row deleted by one pass as deleted in a later pass of the same run', async () => {
    const table = rows(10);
    await run(fullTable(table, 1), { store, sandbox });
    const both = await run([...fullTable(table.filter((r) => r.id !== 'c003'), 2), ...fullTable(table, 3)], { store, sandbox });
    expect(both.tally).toEqual({ 'unchanged:record': 18, 'acked:delete': 1, 'acked:record': 1 });
    expect(sandbox.engagements().find((e) => e.externalId === 'c003')?.deletedAt).toBeNull();
    expect((await store.get('engagement', 'c003'))?.deletedAt).toBeNull();
  });

  it('on close, reports buffered rows Siro already holds and sends nothing new', async () => {
    await run(fullTable(rows(5), 1), { store, sandbox });
    const requests = sandbox.stats().requests;
    const outcomes: Outcome[] = [];
    const { log } = captureLogger();
    const sink = createLedgerSink(siroInner(sandbox), {
      store, runId: 'closing', dryRun: false, skipUnchanged: true, deleteMode: 'soft', maxDeleteFraction: 0.2, retryRejected: true,
      onOutcome: (o) => outcomes.push(o), log,
    });
    let seq = 0;
    for (const row of rows(8)) await sink.push(outboundItem(payloadOf(row), { seq: ++seq, stream: 'calls' }));
    await sink.close(0);
    expect(outcomes.map((o) => `${o.kind}:${o.item.externalId}`).sort()).toEqual(rows(5).map((r) => `unchanged:${r.id}`));
    expect(sandbox.stats().requests).toBe(requests);
  });

  it('reports no outcome it could not write to the ledger, and fails the run', async () => {
    sandbox.setFaults({ latencyMs: 300 });
    const outcomes: Outcome[] = [];
    const { log, logs } = captureLogger();
    const sink = createLedgerSink(siroInner(sandbox), {
      store, runId: 'broken', dryRun: false, skipUnchanged: true, deleteMode: 'soft', maxDeleteFraction: 0.2, retryRejected: false,
      onOutcome: (o) => outcomes.push(o), log, chunkSize: 5,
    });
    let seq = 0;
    for (const row of rows(5)) await sink.push(outboundItem(payloadOf(row), { seq: ++seq, stream: 'calls' }));
    await store.close(); // the ledger goes away while Siro works on the batch
    await expect(sink.drain()).rejects.toBeInstanceOf(LedgerError);
    await sink.close(0);
    expect(sandbox.engagements()).toHaveLength(5); // Siro has them ...
    expect(outcomes).toEqual([]); // ... but the pipeline is never told, so no state covers them
    expect(logs.some((l) => l.level === 50 && l.msg.includes('ledger write failed'))).toBe(true);
  });

  it("passes the Siro sink's fatal error through as it is (not as a ledger fault)", async () => {
    const { log, logs } = captureLogger();
    const sink = createLedgerSink(
      (onOutcome) =>
        createSiroSink({
          baseUrl: sandbox.url, apiToken: 'wrong-token', userAgent: 't', batchSize: 10, maxConcurrency: 1, rateLimitPerMinute: 100_000,
          maxRetries: 0, maxRetryTimeMs: 1000, requestTimeoutMs: 2000, batchLingerMs: 1, onOutcome,
        }),
      { store, runId: 'fatal', dryRun: false, skipUnchanged: true, deleteMode: 'none', maxDeleteFraction: 0.2, retryRejected: false, onOutcome: () => undefined, log },
    );
    await sink.push(outboundItem(payloadOf({ id: 'x1' }), { seq: 1, stream: 'calls' }));
    const error = await sink.drain().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(FatalApiError);
    expect((error as FatalApiError).message).toContain('401');
    await sink.close(0);
    expect(logs.some((l) => l.level >= 50)).toBe(false);
    expect(await store.get('engagement', 'x1')).toBeUndefined();
  });

  it('does not delete when too large a share of a stream would go (delete guard), and says why', async () => {
    await run(fullTable(rows(10), 1), { store, sandbox });
    const half = await run(fullTable(rows(5), 2), { store, sandbox });
    expect(half.tally).toEqual({ 'unchanged:record': 5 });
    expect(half.sink.ledgerCounts().deletesBlocked).toBe(5);
    const warning = half.logs.find((l) => l.level === 40 && l.msg.includes('max_delete_fraction'));
    expect(warning?.msg).toContain('5 of 10 rows');
    expect(warning?.msg).toContain('50.0%');
    expect(sandbox.engagements().every((e) => !e.deletedAt)).toBe(true);
    expect(await store.countLive('calls')).toBe(10);

    // With the guard raised, the same pass deletes them.
    const raised = await run(fullTable(rows(5), 3), { store, sandbox, maxDeleteFraction: 0.5 });
    expect(raised.tally).toEqual({ 'unchanged:record': 5, 'acked:delete': 5 });
    expect(sandbox.engagements().filter((e) => e.deletedAt).length).toBe(5);
  });

  it('never deletes on an ACTIVATE_VERSION that opens a stream (incremental streams), nor with delete_mode none', async () => {
    await run(fullTable(rows(10), 1), { store, sandbox });
    // An incremental stream: ACTIVATE_VERSION first, then only the new rows, no closing activation.
    const incremental = await run([{ activate: 7 }, { row: { id: 'c011' } }, { row: { id: 'c012' } }, { state: true }], { store, sandbox });
    expect(incremental.tally).toEqual({ 'acked:record': 2 });
    // Another stream's records before this stream's opening activation do not make it a closing one.
    const mixed = await run([{ row: { id: 'm1', stream: 'meetings' } }, { activate: 8 }, { row: { id: 'c013' } }], { store, sandbox });
    expect(mixed.tally).toEqual({ 'acked:record': 2 });
    // A second activation right after a closing one (some taps repeat it) has no records before it either.
    const repeated = await run([...fullTable(rows(13), 9), { activate: 9 }, { activate: 10 }], { store, sandbox });
    expect(repeated.tally).toEqual({ 'unchanged:record': 13 });
    expect(repeated.sink.ledgerCounts()).toMatchObject({ deletesBlocked: 0, deletesQueued: 0 });
    // delete_mode none: a closed pass with rows missing deletes nothing.
    const none = await run(fullTable(rows(9), 9), { store, sandbox, deleteMode: 'none' });
    expect(none.tally).toEqual({ 'unchanged:record': 9 });
    expect(sandbox.engagements().every((e) => !e.deletedAt)).toBe(true);
  });

  it('does not delete a row that moved, unchanged, to another stream', async () => {
    await run(fullTable(rows(10), 1), { store, sandbox });
    const steps = fullTable(rows(9), 2);
    steps.splice(5, 0, { row: { id: 'c010', stream: 'meetings' } });
    const moved = await run(steps, { store, sandbox });
    expect(moved.tally).toEqual({ 'unchanged:record': 10 });
    expect((await store.get('engagement', 'c010'))?.stream).toBe('meetings');
    expect(sandbox.engagements().every((e) => !e.deletedAt)).toBe(true);
  });

  it('does not delete when a record of the pass was refused without a known externalId', async () => {
    await run(fullTable(rows(10), 1), { store, sandbox });
    const steps = fullTable(rows(9), 2);
    steps.splice(2, 0, { unsent: { reasons: ['key property "id" is missing from the record'] } });
    const result = await run(steps, { store, sandbox });
    expect(result.tally).toEqual({ 'unchanged:record': 9 });
    expect(result.logs.some((l) => l.level === 40 && l.msg.includes('no soft deletes'))).toBe(true);
    expect(sandbox.engagements().every((e) => !e.deletedAt)).toBe(true);
  });

  it('reads but never writes the ledger in a dry run, and shows what it would send, delete and retry', async () => {
    await run(fullTable(rows(10), 1), { store, sandbox });
    await run([{ row: { id: 'bad-1', extra: invalid } }], { store, sandbox, retryRejected: false });
    const ids = [...rows(10).map((r) => r.id), 'bad-1'];
    const before = await snapshot(store, ids);
    const requests = sandbox.stats().requests;

    const output = join(tmp, `dry-${backend.name}.jsonl`);
    const table = rows(10)
      .filter((r) => r.id !== 'c010')
      .map((r) => (r.id === 'c002' ? { ...r, subject: 'changed' } : r));
    const dry = await run(fullTable(table, 2), { store, dryRun: true, dryRunOutput: output });
    expect(dry.error).toBeUndefined();
    expect(dry.tally).toEqual({ 'unchanged:record': 8, 'acked:record': 1, 'acked:delete': 1, 'acked:retry': 1 });
    const lines = jsonLines(output);
    expect(lines).toEqual(
      expect.arrayContaining([
        payloadOf({ id: 'c002', subject: 'changed' }),
        { externalId: 'c010', deletedAt: expect.any(String) },
        payloadOf({ id: 'bad-1', extra: invalid }),
      ]),
    );
    expect(lines).toHaveLength(3);
    expect(await snapshot(store, ids)).toEqual(before);
    expect(sandbox.stats().requests).toBe(requests);
  });

  it('hands an outcome to the pipeline only after the ledger has it', async () => {
    if (backend.name !== 'sqlite') return; // a second, synchronous reader of the same file checks the order
    const reader = new Database(ledgerPath!, { readonly: true });
    const read = reader.prepare('SELECT acked_at, last_rejected_at FROM ledger_objects WHERE object = ? AND external_id = ?');
    const seen: string[] = [];
    try {
      const result = await run(
        [...rows(30).map((row) => ({ row })), { row: { id: 'bad-1', extra: invalid } }],
        {
          store,
          sandbox,
          onOutcome: (o) => {
            const row = read.get('engagement', o.item.externalId) as { acked_at: unknown; last_rejected_at: unknown } | undefined;
            seen.push(`${o.kind}:${o.kind === 'acked' ? row?.acked_at != null : o.kind === 'rejected' ? row?.last_rejected_at != null : '-'}`);
          },
        },
      );
      expect(result.tally).toEqual({ 'acked:record': 30, 'rejected:record': 1 });
      expect(seen.filter((s) => s === 'acked:true')).toHaveLength(30);
      expect(seen).toContain('rejected:true');
    } finally {
      reader.close();
    }
  });
});
