/** The ledger: what Siro acknowledged per externalId, and the sink that keeps it (see ledger-sink.ts). */
export { fingerprint } from './fingerprint.js';
export { LedgerSink, createLedgerSink, ledgerSinkOptions, type LedgerCounts, type LedgerSinkOptions } from './ledger-sink.js';
export {
  LedgerError,
  LedgerStore,
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
} from './store.js';
