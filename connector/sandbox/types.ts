/** The sandbox's public types, kept apart from the server so the small modules can share them without importing it. */

export interface SandboxFaults {
  /** Fixed latency added to every API request. */
  latencyMs?: number;
  /** Plus a uniform random 0..jitterMs. */
  jitterMs?: number;
  /** Share (0..1) of sync requests answered 500 {"error"} before any write. */
  errorRate?: number;
  /** Share (0..1) of sync requests answered 500 after the write happened (clients must retry; upsert makes it safe). */
  errorAfterWriteRate?: number;
  /** Share (0..1) of sync requests whose socket is destroyed without an answer (before any write). */
  dropRate?: number;
  /** Per token, sliding 60 s window; default 1000; 0 turns the limit off. Excess: 429 {"error"} + Retry-After. */
  rateLimitPerMinute?: number;
  /** Batch bodies with more items are answered 413 {"error"}. */
  maxBatchSize?: number;
  /**
   * Items whose externalId matches this regular expression are refused like Siro refuses data it cannot
   * take (the whole request: 422 with the item's path). Models server-side refusals a client cannot foresee.
   */
  refuseExternalIds?: string;
  /** With refuseExternalIds: answer 400 {"error"} without saying which item, as some endpoints do. */
  refuseWithoutPaths?: boolean;
  /** The next `count` API requests get 429 (Retry-After: retryAfterSeconds, default 1). */
  burst429?: { count: number; retryAfterSeconds?: number };
  /**
   * Answer every API request 200 with something that is not Siro's answer, without writing: an HTML page
   * (a login page or a proxy), an empty body, or `{"data": []}` (a 200 that acknowledges no item).
   */
  notSiro?: 'html' | 'empty' | 'no-items';
  /** Seed of the fault draws, so a run with the same requests in the same order fails the same way. */
  seed?: number;
}

export interface SandboxToken {
  token: string;
  tokenName: string;
  organizationId: string;
  /** Authenticates but lacks rights: every API request is answered 403 (for tests of 403 handling). */
  forbidden?: boolean;
  /** Shown by caller-identity; default `tok_<n>`. */
  tokenId?: string;
}

export interface SandboxOptions {
  /** 0 = random (default 0). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default: one token "sandbox-token" (tokenName "sandbox", organizationId "org-sandbox"). */
  tokens?: SandboxToken[];
  faults?: SandboxFaults;
}

export interface SandboxObjectRecord {
  id: string;
  externalId: string;
  /** The last payload sent for this externalId, as sent. */
  body: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  writes: number;
  /** Set by soft-delete-removed (or by a payload's own deletedAt); null while the record is live. */
  deletedAt?: string | null;
}

export interface SandboxStats {
  /** API requests (not /_sandbox/*), dropped ones included. */
  requests: number;
  /** Count per answered status ("200", "422", ...) and "dropped" for connections destroyed without an answer. */
  byStatus: Record<string, number>;
  /** Items upserted (a batch of n counts n), including writes answered 500 afterwards. */
  itemsWritten: number;
  /** Requests answered 429 (rate limit or burst429). */
  throttled: number;
}

export interface Sandbox {
  /** E.g. http://127.0.0.1:43121 (use as base_url). */
  url: string;
  port: number;
  /** Replaces the fault settings (and restarts the fault draws from the seed). */
  setFaults(faults: SandboxFaults): void;
  /** Current contents (last payload per externalId). */
  engagements(): SandboxObjectRecord[];
  opportunities(): SandboxObjectRecord[];
  stats(): SandboxStats;
  /** Empties the stores, the stats and the rate-limit windows; fault settings stay. */
  reset(): void;
  close(): Promise<void>;
}

export const DEFAULT_SANDBOX_TOKEN: SandboxToken = {
  token: 'sandbox-token',
  tokenName: 'sandbox',
  organizationId: 'org-sandbox',
};
