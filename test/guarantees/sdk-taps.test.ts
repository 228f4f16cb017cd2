import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../connector/sandbox/server.js';
import { sandboxPerFile } from '../support/sandbox.js';
import { DEFAULT_SANDBOX_TOKEN } from '../../connector/sandbox/types.js';
import { runTargetCli, stateLines, tempDir } from '../support/cli.js';
import {
  SDK_STREAM,
  batchLine,
  logBasedDeleteLine,
  logBasedRecordLine,
  sdkRecordLine,
  sdkRow,
  sdkSchemaMessage,
  sdkState,
  stateLine,
  writeBatchFile,
} from '../support/sdk-tap.js';
import { jsonLines, targetConfig } from '../support/target-config.js';

/**
 * Input shaped like a Meltano singer-sdk tap's (test/support/sdk-tap.ts): RECORDs and BATCH files, LOG_BASED
 * changes with a hard delete, through the built CLI, in a dry run and against the sandbox.
 */

let sandbox: Sandbox;
sandboxPerFile((s) => (sandbox = s), { tokens: [DEFAULT_SANDBOX_TOKEN], fresh: true });

type Bookmarks = { bookmarks: Record<string, { replication_key_value: string }> };

/** SCHEMA, the echoed input STATE, three RECORDs, a gzip and a plain BATCH (rows 4..803), a final STATE. */
function sdkInput(dir: string): string {
  const lines = [
    JSON.stringify(sdkSchemaMessage()),
    sdkState('2025-04-01T00:00:00.000000+00:00'),
    sdkRecordLine(sdkRow(1), '64100.00'),
    sdkRecordLine(sdkRow(2)),
    sdkRecordLine(sdkRow(3), '12.50'),
    sdkState('2025-04-03T10:00:00.000003+00:00', { starting_replication_value: '2025-04-01', progress_markers: { Note: 'in progress' } }),
    batchLine([writeBatchFile(dir, 'part-1', 4, 503, true)], true),
    batchLine([writeBatchFile(dir, 'part-2', 504, 703, false), writeBatchFile(dir, 'part-3', 704, 803, false)], false),
    sdkState('2025-04-27T10:00:00.000803+00:00'),
  ];
  return lines.join('\n') + '\n';
}

describe('a Meltano SDK tap', () => {
  it('delivers every record of RECORD and BATCH messages in a dry run; a violation in an unmapped column only warns', async () => {
    const dir = tempDir();
    const { config, rejectsFile } = targetConfig({ dry_run: true, ledger: false }, dir);
    const output = join(dir, 'payloads.jsonl');
    const res = await runTargetCli(['--config', config, '--dry-run-output', output], { input: sdkInput(dir) });
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(res.code).toBe(0);
    const payloads = await jsonLines(output);
    expect(payloads.map((p) => p.externalId)).toEqual(Array.from({ length: 803 }, (_, i) => `appointment-${i + 1}`));
    expect(await jsonLines(rejectsFile)).toEqual([]);
    // tags holds null elements against `items: string`; no mapping reads tags: one warning, no rejection.
    const warnings = res.stderr.split('\n').filter((l) => l.includes('not read by the mapping'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/column \\?"tags\\?"/);
    expect(res.stderr).toMatch(/267 record\(s\) of public-appointments break the schema in column "tags", which no mapping reads: sent anyway/);
    const states = stateLines(res.stdout) as Bookmarks[];
    expect(states.at(-1)!.bookmarks[SDK_STREAM]!.replication_key_value).toBe('2025-04-27T10:00:00.000803+00:00');
  });

  it('is previewed record by record, BATCH files included', async () => {
    const dir = tempDir();
    const { config } = targetConfig({ ledger: false }, dir);
    const input = join(dir, 'sdk.singer');
    writeFileSync(input, sdkInput(dir));
    const res = await runTargetCli(['preview', '--config', config, '--input', input, '--limit', '5', '--format', 'json']);
    expect(res.code).toBe(0);
    const preview = JSON.parse(res.stdout) as { records: { externalId: string; line: number; outcome: string }[]; more: boolean };
    expect(preview.records.map((r) => [r.externalId, r.line, r.outcome])).toEqual([
      ['appointment-1', 3, 'mapped'],
      ['appointment-2', 4, 'mapped'],
      ['appointment-3', 5, 'mapped'],
      ['appointment-4', 7, 'mapped'],
      ['appointment-5', 7, 'mapped'],
    ]);
    expect(preview.more).toBe(true);
  });

  it('still rejects a row whose violation is in a column the mapping reads', async () => {
    const dir = tempDir();
    const { config, rejectsFile } = targetConfig({ dry_run: true, ledger: false }, dir);
    const bad = { ...sdkRow(7), subject: 42 };
    const input = [JSON.stringify(sdkSchemaMessage()), sdkRecordLine(sdkRow(6)), sdkRecordLine(bad), stateLine({ done: true })].join('\n') + '\n';
    const res = await runTargetCli(['--config', config, '--dry-run-output', join(dir, 'out.jsonl')], { input });
    expect(res.code).toBe(0);
    const rejects = await jsonLines(rejectsFile);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]).toMatchObject({ stream: SDK_STREAM, key: 'id=7', stage: 'schema' });
    expect(String((rejects[0]!.reasons as string[])[0])).toMatch(/subject/);
  });

  it('delivers every BATCH record to Siro, and prints the state after a BATCH only once its records are in', async () => {
    const dir = tempDir();
    const target = targetConfig({ api_token: DEFAULT_SANDBOX_TOKEN.token, base_url: sandbox.url, ledger: false }, dir);
    const res = await runTargetCli(['--config', target.config], { input: sdkInput(dir) });
    expect(res.code).toBe(0);
    expect(sandbox.engagements()).toHaveLength(803);
    expect((stateLines(res.stdout).at(-1) as Bookmarks).bookmarks[SDK_STREAM]!.replication_key_value).toBe('2025-04-27T10:00:00.000803+00:00');

    // Siro fails every request: no record of the BATCH gets in, so the state after it is never printed.
    sandbox.reset();
    sandbox.setFaults({ errorRate: 1 });
    const failed = await runTargetCli(['--config', target.config], { input: sdkInput(dir), env: { TARGET_SIRO_MAX_RETRIES: '0' } });
    expect(failed.code).toBe(6);
    expect(stateLines(failed.stdout).some((s) => JSON.stringify(s).includes('2025-04-27'))).toBe(false);
  });

  it('turns a LOG_BASED hard delete into a delete of that externalId that sends nothing else', async () => {
    const dir = tempDir();
    const input =
      [
        JSON.stringify(sdkSchemaMessage({ logBased: true })),
        logBasedRecordLine(1, 101),
        logBasedRecordLine(2, 102),
        logBasedDeleteLine(2, 103),
        stateLine({ bookmarks: { [SDK_STREAM]: { lsn: 103 } } }),
      ].join('\n') + '\n';
    const dry = targetConfig({ dry_run: true, ledger: false }, dir);
    const output = join(dir, 'out.jsonl');
    const res = await runTargetCli(['--config', dry.config, '--dry-run-output', output], { input });
    expect(res.code).toBe(0);
    const payloads = await jsonLines(output);
    expect(payloads).toHaveLength(3);
    // Postgres text timestamps (`+00`) are instants.
    expect(payloads[0]).toMatchObject({ externalId: 'appointment-1', remoteUpdatedAt: '2025-04-02T10:00:00.000Z' });
    expect(payloads[2]).toEqual({ externalId: 'appointment-2', deletedAt: '2025-04-21T08:00:00.500Z' });

    const live = targetConfig({ api_token: DEFAULT_SANDBOX_TOKEN.token, base_url: sandbox.url, ledger: false }, dir);
    const sent = await runTargetCli(['--config', live.config], { input });
    expect(sent.code).toBe(0);
    // Siro received exactly the identity and the deletion: its other fields stay as they were.
    const two = sandbox.engagements().find((e) => e.externalId === 'appointment-2')!;
    expect(two.body).toEqual({ externalId: 'appointment-2', deletedAt: '2025-04-21T08:00:00.500Z' });
  });

  it.each([
    ['parquet files', (dir: string) => batchLine([writeBatchFile(dir, 'p', 1, 2, false)], false, 'parquet'), /batch_config\.encoding\.format/],
    ['remote storage', () => batchLine(['s3://bucket/target/batch-1.json.gz'], true), /batch_config\.storage\.root/],
    ['a missing file', (dir: string) => batchLine([`file://${dir}/gone.jsonl`], false), /cannot be read: no such file/],
    ['a relative storage root', () => batchLine(['file://output/batch-1.jsonl'], false), /is not a local path .*batch_config\.storage\.root/],
  ])('stops with a clear error on BATCH %s, never skipping them', async (_what, batch, message) => {
    const dir = tempDir();
    const { config } = targetConfig({ dry_run: true, ledger: false }, dir);
    const input = [JSON.stringify(sdkSchemaMessage()), sdkRecordLine(sdkRow(1)), stateLine({ before: true }), batch(dir), stateLine({ after: true })].join('\n') + '\n';
    const res = await runTargetCli(['--config', config, '--dry-run-output', join(dir, 'out.jsonl')], { input });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(message);
    expect(res.stderr).toMatch(/input line 4/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(stateLines(res.stdout)).toEqual([{ before: true }]);
    expect(readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });
});
