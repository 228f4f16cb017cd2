import type { Logger } from '../core/log.js';
import type { OutboundItem } from '../delivery/sink.js';
import type { LedgerStore, SyncOperation } from './store.js';

/** What a sweep needs of the ledger sink that runs it: the ledger, and the sink behind it to push to. */
export interface SweepHost {
  readonly store: LedgerStore;
  readonly log: Logger;
  readonly dryRun: boolean;
  /**
   * Hand an item the target made itself to the sink behind the ledger (backpressure included); `operation`
   * is what the sync log records for it (default: delete for a delete, else update).
   */
  push(item: OutboundItem, operation?: SyncOperation): void | Promise<void>;
  /** The run is closing: push nothing more. */
  closing(): boolean;
  /** Throws the error that ends the run, if there is one. */
  throwIfFailed(): void;
  /** Wait for every pushed item's outcome, and for those outcomes to be in the ledger. */
  settle(): Promise<void>;
}
