import { join } from 'node:path';
import { Command } from 'commander';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { loadSettings, type Settings } from '../../connector/config/settings.js';
import { ConfigError } from '../../connector/core/errors.js';
import { addRejectsCommand, rejectsList, rejectsRetry } from '../../connector/commands/rejects.js';
import { LedgerStore } from '../../connector/ledger/store.js';
import type { Sandbox } from '../../connector/sandbox/server.js';
import { captureLogger, payloadOf, run } from '../ledger/harness.js';
import { sandboxPerFile, tempDirPerFile } from '../support/sandbox.js';
import { targetConfig } from '../support/target-config.js';

let sandbox: Sandbox;
sandboxPerFile((s) => (sandbox = s));
const tmp = tempDirPerFile('rejects-cmd-');
let n = 0;

let settings: Settings;
beforeEach(() => {
  sandbox.reset();
  settings = loadSettings({
    env: {},
    overrides: { api_token: 'sandbox-token', base_url: sandbox.url, ledger_path: join(tmp, `ledger-${++n}.sqlite`), max_retries: 1, shutdown_grace_ms: 1000 },
  });
});

const invalid = { direction: 'SIDEWAYS' };

/** A ledger with one row Siro refused (422), one refused before delivery and one refusal Siro would accept now. */
async function seed(): Promise<void> {
  const store = await LedgerStore.open({ path: settings.ledger_path });
  try {
    await run([{ row: { id: 'ok-1' } }], { store, sandbox });
    await run([{ row: { id: 'bad-1', extra: invalid } }, { unsent: { externalId: 'ok-1', reasons: ['mapping: startTime is not a date'] } }], {
      store,
      sandbox,
    });
    await store.write([
      {
        kind: 'reject',
        object: 'engagement',
        externalId: 'late-1',
        stream: 'meetings',
        reason: 'opportunity not found',
        status: 400,
        payload: JSON.stringify(payloadOf({ id: 'late-1' })),
        runId: 'earlier',
        at: '2024-05-01T10:00:00.000Z',
      },
    ]);
  } finally {
    await store.close();
  }
}

describe('rejects list', () => {
  it('lists refused rows as text and JSON, optionally of one stream', async () => {
    await seed();
    const text = await rejectsList(settings, { format: 'text' });
    expect(text).toMatch(/^3 rejected row\(s\) in the ledger \(SQLite .*ledger-\d+\.sqlite\):/);
    expect(text).toContain('engagement bad-1 (stream calls)');
    expect(text).toMatch(/bad-1 .* 422 \[Siro refused it: resent at the next run or by rejects retry; .*\]: .*direction/);
    expect(text).toMatch(/ok-1 .* \[the mapping refused it: fix the mapping, then rejects retry \(or the next run\) maps it again\]: mapping: startTime is not a date/);

    const json = JSON.parse(await rejectsList(settings, { format: 'json', stream: 'meetings' }));
    expect(json).toEqual({
      total: 1,
      rows: [
        {
          object: 'engagement',
          externalId: 'late-1',
          stream: 'meetings',
          rejectedAt: '2024-05-01T10:00:00.000Z',
          status: 400,
          reason: 'opportunity not found',
          runId: 'earlier',
          stage: null,
          retriable: true,
          hint: expect.stringMatching(/^Siro refused it/),
          acknowledgedBefore: false,
          payload: payloadOf({ id: 'late-1' }),
        },
      ],
    });
    const limited = await rejectsList(settings, { format: 'text', limit: 1 });
    expect(limited).toContain('… and 2 more');
    expect(await rejectsList(settings, { format: 'text', stream: 'nope' })).toContain('no rejected rows of stream "nope"');
  });

  it('refuses to run without a ledger', async () => {
    await expect(rejectsList({ ...settings, ledger: false }, { format: 'text' })).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('rejects retry', () => {
  it("sends every refused row's last payload again and records what Siro answered", async () => {
    await seed();
    const { log } = captureLogger();
    const result = await rejectsRetry(settings, { log });
    expect(result).toMatchObject({ retried: 2, accepted: 1, stillRejected: 1, withoutPayload: 1 });
    expect(result.text).toContain('retried 2 rejected row(s): 1 accepted, 1 still rejected');
    expect(result.text).toContain('1 row(s) cannot be retried from the ledger');
    expect(sandbox.engagements().find((e) => e.externalId === 'late-1')?.body).toEqual(payloadOf({ id: 'late-1' }));

    const store = await LedgerStore.open({ path: settings.ledger_path });
    try {
      expect((await store.get('engagement', 'late-1'))?.lastRejectedAt).toBeNull();
      expect((await store.get('engagement', 'bad-1'))?.rejectedRunId).toBe(result.runId);
      expect(await store.countRejected()).toBe(2);
      expect(await store.getRun(result.runId)).toMatchObject({ kind: 'rejects-retry', status: 'ok', sent: 1, rejected: 1, dryRun: false });
    } finally {
      await store.close();
    }
    // Only one stream.
    const again = await rejectsRetry(settings, { log, stream: 'meetings' });
    expect(again).toMatchObject({ retried: 0, accepted: 0, stillRejected: 0 });
  });

  it('in a dry run shows the payloads and changes nothing', async () => {
    await seed();
    const requests = sandbox.stats().requests;
    const output = join(tmp, 'retry-dry.jsonl');
    const { log } = captureLogger();
    const result = await rejectsRetry({ ...settings, dry_run: true }, { log, dryRunOutput: output });
    expect(result).toMatchObject({ retried: 2, accepted: 2 });
    expect(result.text).toContain('dry run');
    expect(sandbox.stats().requests).toBe(requests);
    expect((await rejectsList(settings, { format: 'text' })).startsWith('3 rejected row(s)')).toBe(true);
  });

  it('is wired as `rejects list|retry` subcommands', async () => {
    await seed();
    const { config } = targetConfig({ api_token: 'sandbox-token', base_url: sandbox.url, ledger_path: settings.ledger_path }, { dir: tmp, file: 'config.json', logLevel: 'silent' });
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const exitCode = process.exitCode;
    try {
      const program = new Command('target-siro').exitOverride();
      addRejectsCommand(program);
      await program.parseAsync(['node', 'target-siro', 'rejects', 'list', '--config', config, '--format', 'json']);
      expect(JSON.parse(out.join('')).total).toBe(3);
      out.length = 0;
      await program.parseAsync(['node', 'target-siro', 'rejects', 'retry', '--config', config]);
      expect(out.join('')).toContain('1 accepted, 1 still rejected');
      expect(process.exitCode ?? 0).toBe(0);
    } finally {
      spy.mockRestore();
      process.exitCode = exitCode;
    }
  });
});
