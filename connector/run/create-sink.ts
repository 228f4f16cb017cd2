import { userAgent, type Settings } from '../config/settings.js';
import type { Logger } from '../core/log.js';
import { DryRunSink } from '../delivery/dry-run-sink.js';
import type { OutcomeHandler, Sink } from '../delivery/sink.js';
import { requestMetricLogger } from './metrics.js';

/**
 * The sink the settings ask for: a dry run, or delivery to Siro's sync API. The Siro sink (and the HTTP
 * client behind it) is loaded only when a run sends, so dry runs start without it.
 */
export async function sinkFactory(settings: Settings, log: Logger, dryRunOutput?: string): Promise<(onOutcome: OutcomeHandler) => Sink> {
  if (settings.dry_run) return (onOutcome) => new DryRunSink(onOutcome, dryRunOutput);
  const { createSiroSink } = await import('../delivery/siro-sink.js');
  return (onOutcome) =>
    createSiroSink({
      baseUrl: settings.base_url,
      apiToken: settings.api_token!,
      userAgent: userAgent(settings),
      batchSize: settings.batch_size,
      maxConcurrency: settings.max_concurrency,
      rateLimitPerMinute: settings.rate_limit_per_minute,
      maxRetries: settings.max_retries,
      maxRetryTimeMs: settings.max_retry_time_ms,
      requestTimeoutMs: settings.request_timeout_ms,
      onOutcome,
      onRequest: requestMetricLogger(log),
      log,
    });
}
