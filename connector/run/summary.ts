import { textTable } from '../core/text-table.js';
import type { Settings } from '../config/settings.js';
import type { StreamCounts } from './counters.js';
import type { Logger } from '../core/log.js';
import type { TargetRunResult } from './target-run.js';

/** The end-of-run summary on stderr: one structured log line, and a table a person can read. */
export function printSummary(result: TargetRunResult, settings: Settings, log: Logger): void {
  const totals = result.counters.totals();
  const stats = result.sink.stats();
  const seconds = result.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(totals.delivered / seconds) : totals.delivered;
  const streams = Object.fromEntries(result.counters.streams);
  const rejectedByReason = Object.fromEntries([...result.counters.rejectReasons].map(([k, v]) => [k, v.count]));
  log.info(
    {
      run_id: result.runId,
      dry_run: settings.dry_run,
      totals,
      streams,
      rejected_by_reason: rejectedByReason,
      requests: stats.requests,
      retries: stats.retries,
      throttled: stats.throttled,
      states_printed: result.statesPrinted,
      elapsed_s: seconds,
      items_per_s: rate,
    },
    'run summary',
  );

  const header = ['stream', 'read', 'mapped', settings.dry_run ? 'written' : 'delivered', 'rejected', 'skipped', 'unchanged', 'deleted'];
  const cells = (c: StreamCounts) => [c.read, c.mapped, c.delivered, c.rejected, c.skipped, c.unchanged, c.deleted].map(String);
  const body = [...result.counters.streams].map(([name, c]) => [name, ...cells(c)]);
  body.push(['total', ...cells(totals)]);
  const lines = textTable(header, body, 1);
  lines.push(
    `requests ${stats.requests}, retries ${stats.retries}, 429s ${stats.throttled}, states printed ${result.statesPrinted}, ` +
      `${seconds.toFixed(1)} s, ${rate} items/s`,
  );
  for (const [reason, g] of result.counters.rejectReasons) lines.push(`rejected ${g.count}× ${reason} (e.g. ${g.example})`);
  const skipped = result.counters.skippedStreams();
  if (skipped.length > 0) lines.push(`skipped on purpose (skip_streams): ${skipped.join(', ')}`);
  for (const w of result.counters.schemaWarnings.values()) {
    lines.push(`${w.count} record(s) of ${w.stream} break the schema in column "${w.column}", which no mapping reads: sent anyway (e.g. ${w.example})`);
  }
  if (totals.rejected > 0) lines.push(`rejected records are in ${settings.rejects_file}`);
  process.stderr.write(lines.map((l) => `target-siro: ${l}`).join('\n') + '\n');
}
