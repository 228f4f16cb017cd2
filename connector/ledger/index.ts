/** The ledger: what Siro acknowledged per externalId, the change decision, and the sink that keeps it (see ledger-sink.ts). */
export { decideChange, type ChangeAction, type ChangeDecision, type ChangeInput } from './change.js';
export { fingerprint } from './fingerprint.js';
export { LedgerSink, createLedgerSink, ledgerSinkOptions, type LedgerCounts, type LedgerSinkOptions } from './ledger-sink.js';
export {
  DEFAULT_SYNC_LOG_RETENTION_DAYS,
  LedgerError,
  LedgerStore,
  SyncLogBatch,
  ledgerOpenOptions,
  openLedgerFromSettings,
  type KnownRow,
  type LedgerOpenOptions,
  type LedgerRow,
  type LedgerWrite,
  type RejectedQuery,
  type RowKey,
  type RunCounts,
  type RunRow,
  type RunStatus,
  type SyncLogQuery,
  type SyncLogRow,
  type SyncOperation,
  type SyncStatus,
} from './store.js';
