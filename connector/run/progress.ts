import type { DeliveryStats } from '../delivery/sink.js';
import type { RunCounters } from './counters.js';
import { TerminalLine, terminalLine } from '../core/terminal-line.js';

/**
 * A live progress line on stderr while a run goes, for people watching a terminal. It is only ever drawn
 * when stderr is a TTY: under an orchestrator (stderr a pipe or a file) nothing here writes a byte, and the
 * logs stay plain JSON lines.
 *
 * The line is redrawn in place with `\r` a few times per second. Anything else written to stderr while it
 * is shown (the human-readable logs) goes through `terminalLine.writeAbove`, which clears the line, writes
 * the text and draws the line again below it, so log lines and the progress line never mix. State lines on
 * stdout clear it too when stdout is the same terminal (`terminalLine.beside`); the next redraw, with the
 * counts of that moment, puts it back below them. On a terminal the Singer METRIC lines are logged at debug
 * (run/metrics.ts), so at info the line is not buried under one log line per request.
 */

export interface ProgressSources {
  counters: RunCounters;
  /** The sink's statistics, once there is a sink. */
  stats?: () => DeliveryStats | undefined;
  /** Bytes of input read so far, and the input's size, when both can be known (a file, not stdin). */
  input?: { bytesRead: () => number; totalBytes: number };
  /** Dry run: payloads are written, not delivered. */
  dryRun?: boolean;
}

export interface ProgressOptions {
  /** Redraw interval (default 250 ms: at most four redraws a second). */
  intervalMs?: number;
  line?: TerminalLine;
  now?: () => number;
}

interface Sample {
  at: number;
  /** Records finished: delivered, unchanged, rejected or skipped. */
  finished: number;
}

/** Rates are measured over the last few seconds, so they follow speed changes rather than averaging the whole run. */
const RATE_WINDOW_MS = 5_000;

export class RunProgress {
  private readonly line: TerminalLine;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly started: number;
  private samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sources: ProgressSources,
    opts: ProgressOptions = {},
  ) {
    this.line = opts.line ?? terminalLine;
    this.intervalMs = opts.intervalMs ?? 250;
    this.now = opts.now ?? Date.now;
    this.started = this.now();
  }

  /** A progress line for this run when stderr is a terminal; undefined (no output at all) otherwise. */
  static forTerminal(sources: ProgressSources, opts: ProgressOptions = {}): RunProgress | undefined {
    const line = opts.line ?? terminalLine;
    return line.isTerminal ? new RunProgress(sources, { ...opts, line }) : undefined;
  }

  start(): void {
    if (this.timer) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    // The line never keeps the process alive.
    this.timer.unref();
  }

  /** Stops redrawing and removes the line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.line.clear();
  }

  private tick(): void {
    this.line.show(this.render());
  }

  /** The progress text at this moment (also records a sample for the rate). */
  render(): string {
    const now = this.now();
    const totals = this.sources.counters.totals();
    // Deletes are items the target makes, not records read: they do not count towards the input.
    const finished = totals.delivered + totals.unchanged + totals.rejected + totals.skipped;
    this.samples.push({ at: now, finished });
    while (this.samples.length > 2 && now - this.samples[1]!.at >= RATE_WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const span = (now - first.at) / 1000;
    const rate = span > 0 ? (finished - first.finished) / span : 0;

    const parts = [`read ${count(totals.read)}`, `${this.sources.dryRun ? 'written' : 'delivered'} ${count(totals.delivered)}`];
    if (totals.unchanged > 0) parts.push(`unchanged ${count(totals.unchanged)}`);
    if (totals.deleted > 0) parts.push(`deleted ${count(totals.deleted)}`);
    parts.push(`rejected ${count(totals.rejected)}`);
    if (totals.skipped > 0) parts.push(`skipped ${count(totals.skipped)}`);
    const stats = this.sources.stats?.();
    if (stats && stats.throttled > 0) parts.push(`429s ${count(stats.throttled)}`);
    parts.push(`${count(Math.round(rate))} rec/s`);

    // With a file of known size, the records read per byte so far estimate how many records it holds.
    const input = this.sources.input;
    const bytes = input?.bytesRead() ?? 0;
    if (input && input.totalBytes > 0 && bytes > 0 && totals.read > 0) {
      const expected = Math.max(totals.read, Math.round((totals.read * input.totalBytes) / bytes));
      parts.push(`${Math.min(100, Math.floor((finished / expected) * 100))}%`);
      if (rate > 0 && finished < expected) parts.push(`~${duration((expected - finished) / rate)} left`);
    }
    parts.push(duration((now - this.started) / 1000));
    return `target-siro ▸ ${parts.join(' · ')}`;
  }
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** 75 → 1:15, 3725 → 1:02:05. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
