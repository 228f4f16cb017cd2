/**
 * Full-table passes: per stream, the records between two ACTIVATE_VERSIONs of this run. The ledger marks
 * each row read with its pass's marker; the soft-delete sweep deletes the live rows a closed pass did not mark.
 * A dry run writes no marks, so it remembers here which rows each pass read.
 */

export interface Pass {
  /** `runId:n`: what the ledger stores as a row's last pass. */
  marker: string;
  hasRecords: boolean;
  /** A record of the pass was refused without a known externalId: which rows it stands for is unknown. */
  poisoned: boolean;
}

export class PassTracker {
  private readonly open = new Map<string, Pass>();
  private count = 0;
  /** Dry run only: `stream \0 externalId` → marker of the pass that read the row. */
  private readonly seenInDryRun = new Map<string, string>();

  constructor(private readonly runId: string) {}

  /** The stream's open pass (opened now if the stream has none). */
  current(stream: string): Pass {
    let pass = this.open.get(stream);
    if (!pass) this.open.set(stream, (pass = this.newPass()));
    return pass;
  }

  /** An ACTIVATE_VERSION: the stream's records after it belong to a new pass. Returns the pass it closed, if any. */
  close(stream: string): Pass | undefined {
    const closed = this.open.get(stream);
    this.open.set(stream, this.newPass());
    return closed;
  }

  noteSeenInDryRun(stream: string, externalId: string, marker: string): void {
    this.seenInDryRun.set(seenKey(stream, externalId), marker);
  }

  /** Dry run: whether the pass with this marker read the row. */
  seenInDryRunPass(stream: string, externalId: string, marker: string): boolean {
    return this.seenInDryRun.get(seenKey(stream, externalId)) === marker;
  }

  /** Dry run: whether any pass of this run read the row. */
  seenInDryRunAtAll(stream: string, externalId: string): boolean {
    return this.seenInDryRun.has(seenKey(stream, externalId));
  }

  private newPass(): Pass {
    return { marker: `${this.runId}:${++this.count}`, hasRecords: false, poisoned: false };
  }
}

function seenKey(stream: string, externalId: string): string {
  return `${stream}\u0000${externalId}`;
}
