import { createSiroSink, type RequestInfo, type SiroSinkOptions } from '../../connector/delivery/siro-sink.js';
import type { OutboundItem, Outcome, Sink } from '../../connector/delivery/sink.js';
import { DEFAULT_SANDBOX_TOKEN, type Sandbox } from '../../connector/sandbox/server.js';

/** Helpers for the delivery tests: real sinks against a real sandbox over HTTP on 127.0.0.1. */

export const TOKEN = DEFAULT_SANDBOX_TOKEN.token;

export interface Harness {
  sink: Sink;
  outcomes: Outcome[];
  requests: (RequestInfo & { at: number })[];
  /** Outcomes by item seq; a seq that appears twice is a bug the tests catch. */
  outcomeCounts(): Map<number, number>;
}

export function harness(sb: Sandbox, overrides: Partial<SiroSinkOptions> = {}): Harness {
  const outcomes: Outcome[] = [];
  const requests: (RequestInfo & { at: number })[] = [];
  const sink = createSiroSink({
    baseUrl: sb.url,
    apiToken: TOKEN,
    userAgent: 'target-siro-tests/1.0',
    batchSize: 10,
    maxConcurrency: 4,
    rateLimitPerMinute: 1_000_000,
    maxRetries: 8,
    maxRetryTimeMs: 20_000,
    requestTimeoutMs: 5_000,
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 200,
    batchLingerMs: 10,
    onOutcome: (o) => outcomes.push(o),
    onRequest: (info) => requests.push({ ...info, at: performance.now() }),
    ...overrides,
  });
  return {
    sink,
    outcomes,
    requests,
    outcomeCounts() {
      const counts = new Map<number, number>();
      for (const o of outcomes) counts.set(o.item.seq, (counts.get(o.item.seq) ?? 0) + 1);
      return counts;
    },
  };
}

export async function pushAll(sink: Sink, items: OutboundItem[]): Promise<void> {
  for (const i of items) await sink.push(i);
}

/** Sandbox contents as externalId → body. */
export function contents(records: { externalId: string; body: Record<string, unknown> }[]): Map<string, Record<string, unknown>> {
  return new Map(records.map((r) => [r.externalId, r.body]));
}
