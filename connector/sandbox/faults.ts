import { z } from 'zod';
import type { SandboxFaults } from './types.js';

/**
 * Fault injection: which requests the sandbox slows down, fails, drops or throttles. Draws come from a
 * seeded PRNG so a test that sends the same requests in the same order sees the same failures.
 */

const rate = z.number().min(0).max(1);

export const faultsSchema = z
  .object({
    latencyMs: z.number().min(0).optional(),
    jitterMs: z.number().min(0).optional(),
    errorRate: rate.optional(),
    errorAfterWriteRate: rate.optional(),
    dropRate: rate.optional(),
    rateLimitPerMinute: z.number().int().min(0).optional(),
    maxBatchSize: z.number().int().min(1).optional(),
    burst429: z
      .object({ count: z.number().int().min(0), retryAfterSeconds: z.number().int().min(0).optional() })
      .strict()
      .optional(),
    seed: z.number().int().optional(),
    refuseExternalIds: z
      .string()
      .refine((v) => {
        try {
          new RegExp(v);
          return true;
        } catch {
          return false;
        }
      }, 'a regular expression')
      .optional(),
    refuseWithoutPaths: z.boolean().optional(),
    notSiro: z.enum(['html', 'empty', 'no-items']).optional(),
  })
  .strict();

/** Checks fault settings from code, HTTP or the CLI; throws an Error with a readable message. */
export function parseFaults(input: unknown): SandboxFaults {
  const parsed = faultsSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(faults)'}: ${i.message}`);
    throw new Error(`Invalid sandbox faults: ${detail.join('; ')}`);
  }
  return parsed.data;
}

export const DEFAULT_RATE_LIMIT_PER_MINUTE = 1000;
const DEFAULT_SEED = 0x5eed;

/** mulberry32: tiny, fast, good enough for fault draws. Returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What happens to one sync request. */
export interface SyncFaultDraw {
  drop: boolean;
  errorBeforeWrite: boolean;
  errorAfterWrite: boolean;
}

export class FaultInjector {
  private faults: SandboxFaults = {};
  private failureRandom = seededRandom(DEFAULT_SEED);
  // A separate stream for jitter, so turning jitter on does not shift which requests fail.
  private jitterRandom = seededRandom(DEFAULT_SEED ^ 0x9e3779b9);
  private burstLeft = 0;

  constructor(faults: SandboxFaults = {}) {
    this.set(faults);
  }

  set(faults: SandboxFaults): void {
    this.faults = parseFaults(faults);
    const seed = this.faults.seed ?? DEFAULT_SEED;
    this.failureRandom = seededRandom(seed);
    this.jitterRandom = seededRandom(seed ^ 0x9e3779b9);
    this.burstLeft = this.faults.burst429?.count ?? 0;
    this.refusedPattern = undefined;
  }

  get current(): SandboxFaults {
    return { ...this.faults, ...(this.faults.burst429 ? { burst429: { ...this.faults.burst429, count: this.burstLeft } } : {}) };
  }

  get rateLimitPerMinute(): number {
    return this.faults.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE;
  }

  /** The refuseExternalIds fault, compiled once per setting. */
  get refusedExternalIds(): RegExp | undefined {
    return this.faults.refuseExternalIds === undefined ? undefined : (this.refusedPattern ??= new RegExp(this.faults.refuseExternalIds));
  }

  get notSiro(): SandboxFaults['notSiro'] {
    return this.faults.notSiro;
  }

  get refuseWithoutPaths(): boolean {
    return this.faults.refuseWithoutPaths === true;
  }

  private refusedPattern: RegExp | undefined;

  get maxBatchSize(): number | undefined {
    return this.faults.maxBatchSize;
  }

  /** Milliseconds to hold this request back (0 when no latency is configured). */
  latencyMs(): number {
    const fixed = this.faults.latencyMs ?? 0;
    const jitter = this.faults.jitterMs ?? 0;
    return jitter > 0 ? fixed + this.jitterRandom() * jitter : fixed;
  }

  /** The Retry-After seconds when this request is one of the burst's 429s, else undefined. */
  takeBurst429(): number | undefined {
    if (this.burstLeft <= 0) return undefined;
    this.burstLeft--;
    return this.faults.burst429?.retryAfterSeconds ?? 1;
  }

  /** Always three draws per sync request, so the sequence of outcomes depends only on request order. */
  drawSync(): SyncFaultDraw {
    const d = this.failureRandom();
    const e = this.failureRandom();
    const w = this.failureRandom();
    const drop = d < (this.faults.dropRate ?? 0);
    const errorBeforeWrite = !drop && e < (this.faults.errorRate ?? 0);
    const errorAfterWrite = !drop && !errorBeforeWrite && w < (this.faults.errorAfterWriteRate ?? 0);
    return { drop, errorBeforeWrite, errorAfterWrite };
  }
}
