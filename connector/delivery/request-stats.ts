import type { SiroObject } from '../siro/objects.js';
import type { DeliveryStats } from './sink.js';

/** One HTTP exchange with Siro, as reported to `onRequest` (METRIC logs). */
export interface RequestInfo {
  object: SiroObject;
  items: number;
  status: number | 'network-error' | 'timeout';
  durationMs: number;
  /** 1 for the first try of a batch, 2 for its first retry, ... */
  attempt: number;
}

/** Request durations kept for percentiles: a uniform sample, so memory stays flat on long runs. */
const LATENCY_SAMPLE_SIZE = 10_000;

/** Counts the requests and samples their durations into the sink's stats, and reports each exchange. */
export class RequestStats {
  private latencySeen = 0;

  constructor(
    private readonly counters: DeliveryStats,
    private readonly onRequest: ((info: RequestInfo) => void) | undefined,
  ) {}

  started(): void {
    this.counters.requests++;
  }

  answered(info: RequestInfo): void {
    const samples = this.counters.latenciesMs;
    this.latencySeen++;
    // Reservoir sampling: every duration seen has the same chance of being kept.
    if (samples.length < LATENCY_SAMPLE_SIZE) samples.push(info.durationMs);
    else {
      const j = Math.floor(Math.random() * this.latencySeen);
      if (j < LATENCY_SAMPLE_SIZE) samples[j] = info.durationMs;
    }
    this.onRequest?.(info);
  }
}
