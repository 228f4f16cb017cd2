import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { latencySummary, reportFileName } from '../../connector/run/report.js';
import type { Sandbox } from '../../connector/sandbox/index.js';
import { runTargetCli, stateLines } from '../support/cli.js';
import { exampleInput, operatorConfig } from './helpers.js';
import { sandboxPerFile } from '../support/sandbox.js';

const TOKEN = 'op-report-token-9b12e4';
const input = exampleInput('postgres-calls');

let sandbox: Sandbox;
sandboxPerFile((s) => (sandbox = s), { tokens: [{ token: TOKEN, tokenName: 'report', organizationId: 'org-report' }] });

function reportOf(stderr: string, dir: string): { path: string; text: string; report: Record<string, any> } {
  const path = /target-siro: run report (\S+\.json)/.exec(stderr)?.[1];
  expect(path, stderr).toBeDefined();
  expect(path!.startsWith(join(dir, 'runs'))).toBe(true);
  expect(readdirSync(join(dir, 'runs'))).toEqual([path!.split('/').pop()]);
  const text = readFileSync(path!, 'utf8');
  return { path: path!, text, report: JSON.parse(text) };
}

describe('run report', () => {
  it('holds counts per stream and outcome, grouped reasons, latencies, 429s, exit code and the last state', async () => {
    sandbox.setFaults({ latencyMs: 5, burst429: { count: 2, retryAfterSeconds: 0 } });
    const { dir, path } = operatorConfig({ api_token: TOKEN, base_url: sandbox.url, batch_size: 1, max_concurrency: 1 });
    const r = await runTargetCli(['--config', path, '--input', input]);
    sandbox.setFaults({});
    expect(r.code, r.stderr).toBe(0);
    // The summary table stays on stderr, and says where the report is.
    expect(r.stderr).toMatch(/target-siro: total\s+5\s+4\s+4\s+1\s+0/);
    const { path: reportPath, text, report } = reportOf(r.stderr, dir);
    // Named by the run's start time (UTC, to the second), then its run id: `ls` lists reports in time order.
    const stamp = report.started_at.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
    expect(reportPath).toBe(join(dir, 'runs', `${stamp}-${report.run_id}.json`));
    expect(reportPath.split('/').pop()).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-[0-9a-f-]{36}\.json$/);
    expect(text).not.toContain(TOKEN);

    expect(report).toMatchObject({
      report_version: 1,
      target: { name: 'target-siro' },
      status: 'ok',
      exit_code: 0,
      error: null,
      dry_run: false,
      input,
      siro_origin: sandbox.url,
      totals: { read: 5, mapped: 4, delivered: 4, rejected: 1, skipped: 0, unchanged: 0, deleted: 0 },
      streams: {
        'public-calls': { read: 3, mapped: 2, delivered: 2, rejected: 1 },
        'public-appointments': { read: 2, mapped: 2, delivered: 2, rejected: 0 },
      },
      rejects: {
        total: 1,
        file: join(dir, 'rejects.jsonl'),
        reasons: [
          {
            reason: 'mapping: direction: value "…" of column "…" is not one of INBOUND, OUTBOUND',
            count: 1,
            example: 'public-calls id=5003: direction: value "sideways" of column "direction" is not one of INBOUND, OUTBOUND',
          },
        ],
      },
      requests: { throttled_429: 2 },
      // States may be coalesced: the report counts the ones printed.
      states_printed: stateLines(r.stdout).length,
    });
    // Four single-item requests that went through, and the two answered 429.
    expect(report.requests.count).toBe(6);
    const latency = report.requests.latency;
    expect(latency.count).toBeGreaterThanOrEqual(4);
    expect(latency.p50_ms).toBeGreaterThanOrEqual(5);
    expect(latency.p50_ms).toBeLessThanOrEqual(latency.p95_ms);
    expect(latency.p95_ms).toBeLessThanOrEqual(latency.p99_ms);
    expect(latency.p99_ms).toBeLessThanOrEqual(latency.max_ms);
    expect(report.elapsed_s).toBeGreaterThan(0);
    expect(report.items_per_s).toBeGreaterThan(0);
    expect(Date.parse(report.ended_at)).toBeGreaterThanOrEqual(Date.parse(report.started_at));
    // The last state printed is the one a rerun starts from.
    expect(report.last_state).toEqual(stateLines(r.stdout).at(-1));
  });

  it('records a failed run with its exit code and error', async () => {
    const { dir, path } = operatorConfig({ api_token: 'not-a-valid-token', base_url: sandbox.url });
    const r = await runTargetCli(['--config', path, '--input', input]);
    expect(r.code).toBe(4);
    const { report, text } = reportOf(r.stderr, dir);
    expect(text).not.toContain('not-a-valid-token');
    expect(report).toMatchObject({ status: 'failed', exit_code: 4, error: { name: 'FatalApiError' }, totals: { delivered: 0 }, last_state: null });
    expect(report.error.message).toContain('401');
  });

  it('writes a report for a dry run too, into reports_dir', async () => {
    const { dir, path } = operatorConfig({ ledger: false });
    const r = await runTargetCli(['--config', path, '--input', input, '--dry-run', '--dry-run-output', join(dir, 'payloads.jsonl')]);
    expect(r.code, r.stderr).toBe(0);
    const { report } = reportOf(r.stderr, dir);
    expect(report).toMatchObject({ status: 'ok', dry_run: true, siro_origin: null, totals: { delivered: 4, rejected: 1 }, requests: { count: 0 } });
    expect(report.requests.latency).toEqual({ count: 0, mean_ms: null, p50_ms: null, p95_ms: null, p99_ms: null, max_ms: null });
  });
});

describe('reportFileName', () => {
  it('sorts as the runs started, whatever their run ids', () => {
    const runs = [
      { run_id: 'ffffffff-0000-4000-8000-000000000000', started_at: '2026-12-02T09:05:00.900Z' },
      { run_id: '00000000-0000-4000-8000-000000000000', started_at: '2026-12-02T16:30:05.123Z' },
      { run_id: '88888888-0000-4000-8000-000000000000', started_at: '2026-12-10T00:00:00.000Z' },
      { run_id: '11111111-0000-4000-8000-000000000000', started_at: '2027-01-01T00:00:00.000Z' },
    ];
    const names = runs.map(reportFileName);
    expect(names[1]).toBe('2026-12-02T16-30-05Z-00000000-0000-4000-8000-000000000000.json');
    expect([...names].reverse().sort()).toEqual(names);
  });
});

describe('latencySummary', () => {
  it('takes nearest-rank percentiles', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted on purpose
    expect(latencySummary(hundred)).toEqual({ count: 100, mean_ms: 50.5, p50_ms: 50, p95_ms: 95, p99_ms: 99, max_ms: 100 });
    expect(latencySummary([7])).toEqual({ count: 1, mean_ms: 7, p50_ms: 7, p95_ms: 7, p99_ms: 7, max_ms: 7 });
  });
});
