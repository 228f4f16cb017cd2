import type { Logger } from '../core/log.js';
import { terminalLine } from '../core/terminal-line.js';
import type { RequestInfo } from '../delivery/siro-sink.js';
import type { RunCounters } from './counters.js';

/**
 * Singer METRIC log lines on stderr, as the Singer spec and the Meltano SDK write them
 * (`METRIC: {"type": ..., "metric": ..., "value": ..., "tags": {...}}`), so existing log tooling that
 * scrapes tap and target metrics works unchanged.
 *
 * Where they go depends on who reads stderr. An orchestrator (stderr a pipe or a file: Meltano, cron's log)
 * gets them at `info`, as Singer expects. A person at a terminal would get one per request, burying the
 * progress line, so there they are logged at `debug`: `log_level: debug` (or TARGET_SIRO_LOG_LEVEL=debug)
 * shows them.
 */

export type MetricLevel = 'info' | 'debug';

/** The level of METRIC lines: `debug` when stderr is a terminal, `info` otherwise. */
export function metricLevel(stderrIsTerminal: boolean = terminalLine.isTerminal): MetricLevel {
  return stderrIsTerminal ? 'debug' : 'info';
}

export function metricLine(type: 'counter' | 'timer', metric: string, value: number, tags: Record<string, unknown>): string {
  return `METRIC: ${JSON.stringify({ type, metric, value, tags })}`;
}

/** One `http_request_duration` timer per Siro request (seconds, as the Singer spec has it). */
export function requestMetricLogger(log: Logger, level: MetricLevel = metricLevel()): (info: RequestInfo) => void {
  return (info) => {
    // Not even formatted when the level is off (a terminal at info).
    if (!log.isLevelEnabled(level)) return;
    const ok = typeof info.status === 'number' && info.status < 300;
    log[level](
      metricLine('timer', 'http_request_duration', info.durationMs / 1000, {
        endpoint: info.object,
        http_status_code: typeof info.status === 'number' ? info.status : undefined,
        status: ok ? 'succeeded' : 'failed',
        items: info.items,
        attempt: info.attempt,
      }),
    );
  };
}

/**
 * `record_count` counters per stream: every `intervalMs` while the run goes (only the records delivered
 * since the last line, as Singer counters do) and once at the end.
 */
export class RecordCountMetrics {
  private readonly reported = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly counters: RunCounters,
    private readonly log: Logger,
    intervalMs = 60_000,
    private readonly level: MetricLevel = metricLevel(),
  ) {
    this.timer = setInterval(() => this.report(), intervalMs);
    this.timer.unref();
  }

  report(): void {
    for (const [stream, c] of this.counters.streams) {
      const total = c.delivered + c.unchanged;
      const since = total - (this.reported.get(stream) ?? 0);
      if (since === 0) continue;
      this.reported.set(stream, total);
      this.log[this.level](metricLine('counter', 'record_count', since, { stream, endpoint: 'siro' }));
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.report();
  }
}
