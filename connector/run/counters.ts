import type { RejectEntry } from '../checkpoint/rejects-file.js';

/** Per-stream counts for the run summary. */
export interface StreamCounts {
  read: number;
  mapped: number;
  delivered: number;
  rejected: number;
  skipped: number;
  /** Not sent because Siro already holds the same payload (ledger). */
  unchanged: number;
  /** Soft deletes sent for rows gone from a full table (ledger). */
  deleted: number;
}

export class RunCounters {
  readonly streams = new Map<string, StreamCounts>();
  /** Rejections grouped by stage and reason shape, with one example each. */
  readonly rejectReasons = new Map<string, { count: number; example: string }>();
  /** Schema violations in columns no mapping reads (warned, not rejected), per stream and column. */
  readonly schemaWarnings = new Map<string, { stream: string; column: string; count: number; example: string }>();

  /** Counts a warning; true the first time for its stream and column (log it then, once). */
  noteSchemaWarning(stream: string, column: string, text: string): boolean {
    const key = `${stream}\u0000${column}`;
    const w = this.schemaWarnings.get(key);
    if (w) {
      w.count++;
      return false;
    }
    this.schemaWarnings.set(key, { stream, column, count: 1, example: text });
    return true;
  }

  /** Streams whose records were skipped on purpose (skip_streams). */
  skippedStreams(): string[] {
    return [...this.streams].filter(([, c]) => c.skipped > 0).map(([name]) => name);
  }

  stream(name: string): StreamCounts {
    let c = this.streams.get(name);
    if (!c) {
      c = { read: 0, mapped: 0, delivered: 0, rejected: 0, skipped: 0, unchanged: 0, deleted: 0 };
      this.streams.set(name, c);
    }
    return c;
  }

  noteReject(entry: RejectEntry): void {
    const reason = entry.reasons[0] ?? 'unknown';
    // Group by the reason's shape, not its values: `value "abc"` and `value "def"` are one group.
    const group = `${entry.stage}: ${reason.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N')}`;
    const g = this.rejectReasons.get(group);
    if (g) g.count++;
    else this.rejectReasons.set(group, { count: 1, example: `${entry.stream} ${entry.key}: ${reason}` });
  }

  totals(): StreamCounts {
    const t: StreamCounts = { read: 0, mapped: 0, delivered: 0, rejected: 0, skipped: 0, unchanged: 0, deleted: 0 };
    for (const c of this.streams.values()) for (const k of Object.keys(t) as (keyof StreamCounts)[]) t[k] += c[k];
    return t;
  }
}
