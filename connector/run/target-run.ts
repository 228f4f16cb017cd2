import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { rejectLimit, type Settings } from '../config/settings.js';
import { FatalApiError, InputError, InterruptedError, RejectLimitError } from '../core/errors.js';
import { RejectsFile, type RejectEntry } from '../checkpoint/rejects-file.js';
import { StateOutput } from '../checkpoint/state-output.js';
import { Watermark } from '../checkpoint/watermark.js';
import type { Outcome, OutcomeHandler, Sink } from '../delivery/sink.js';
import type { MappingSet } from '../mapping/index.js';
import type { JsonObject, RecordMessage } from '../singer/messages.js';
import { decodeMessage, readLineBatches } from '../singer/reader.js';
import { StreamRegistry, type StreamInfo } from '../singer/streams.js';
import { RunCounters } from './counters.js';

/**
 * One run of the target: read Singer messages, validate and map each record, hand payloads to a sink, and
 * print each STATE once every record before it is finished. The sink decides what "delivered" means
 * (a dry-run file or Siro's sync API); this module only sees outcomes.
 */

export interface TargetRunOptions {
  settings: Settings;
  input: Readable;
  mappings: MappingSet;
  log: Logger;
  createSink: (onOutcome: OutcomeHandler) => Sink;
  /** The run's id (ledger rows and rejects lines carry it); a new one when omitted. */
  runId?: string;
  /** Called after each state line is printed (the ledger keeps the last one per run). */
  onStatePrinted?: (line: string) => void;
  /** Aborted on SIGTERM/SIGINT: stop reading, let requests in flight finish, print the safe state. */
  signal?: AbortSignal;
  stdoutFd?: number;
  /** The run's counters; a new set when omitted. Pass one to watch the run while it goes (the progress line). */
  counters?: RunCounters;
}

export interface TargetRunResult {
  runId: string;
  counters: RunCounters;
  sink: Sink;
  statesPrinted: number;
  /** The last state line printed, if any. */
  lastState?: string;
  elapsedMs: number;
  /** Set when the run ended in error; the CLI turns it into a message and an exit code. */
  error?: Error;
}

export async function runTarget(opts: TargetRunOptions): Promise<TargetRunResult> {
  const { settings, mappings, log } = opts;
  const started = Date.now();
  const runId = opts.runId ?? randomUUID();
  const registry = new StreamRegistry(settings.validate_records);
  const watermark = new Watermark();
  const states = new StateOutput(settings.state_file, opts.stdoutFd);
  const rejects = new RejectsFile(settings.rejects_file, runId);
  const counters = opts.counters ?? new RunCounters();
  const warnedUnmapped = new Set<string>();
  let fatal: Error | undefined;

  const releaseSafeState = (): void => {
    if (fatal) return; // after a fatal error, no further state is printed
    const safe = watermark.takeSafeState();
    if (!safe) return;
    rejects.sync();
    states.print(safe.value);
    opts.onStatePrinted?.(states.lastPrinted!);
  };

  const reject = (entry: RejectEntry): void => {
    if (entry.stage !== 'siro') sink.noteUnsent?.({ stream: entry.stream, externalId: entry.externalId, reasons: entry.reasons });
    rejects.write(entry);
    counters.stream(entry.stream).rejected++;
    counters.noteReject(entry);
    log.warn({ stream: entry.stream, key: entry.key, line: entry.line, stage: entry.stage, reasons: entry.reasons }, 'record rejected');
  };

  const onOutcome = (o: Outcome): void => {
    const { item } = o;
    if (o.kind === 'acked') {
      counters.stream(item.stream)[item.origin === 'delete' ? 'deleted' : 'delivered']++;
    } else if (o.kind === 'unchanged') {
      counters.stream(item.stream).unchanged++;
    } else {
      reject({
        stream: item.stream,
        key: item.key,
        line: item.line,
        seq: item.seq,
        stage: 'siro',
        reasons: o.reasons,
        status: o.status,
        externalId: item.externalId,
        payload: item.payload,
      });
    }
    watermark.finish(item.seq);
    releaseSafeState();
  };

  const sink = opts.createSink(onOutcome);

  const handleRecord = (line: number, msg: RecordMessage): void | Promise<void> => {
    const stream = registry.get(msg.stream);
    if (!stream) throw new InputError(line, 'RECORD before any SCHEMA for its stream', msg.stream);
    const seq = watermark.nextSeq();
    const counts = counters.stream(msg.stream);
    counts.read++;
    const record = msg.record;
    const mapping = mappings.forStream(msg.stream);
    if (!mapping) {
      counts.skipped++;
      if (!warnedUnmapped.has(msg.stream)) {
        warnedUnmapped.add(msg.stream);
        log.warn({ stream: msg.stream, mappings: mappings.files }, `no mapping names stream "${msg.stream}": its records are skipped`);
      }
      watermark.finish(seq);
      return;
    }
    const key = recordKey(record, stream);
    const base = { stream: msg.stream, key: key.text, line, seq, record };
    if (key.missing.length > 0) {
      reject({ ...base, stage: 'input', reasons: key.missing.map((k) => `key property "${k}" is missing from the record`) });
      watermark.finish(seq);
      return;
    }
    const violations = stream.validate(record);
    if (violations.length > 0) {
      reject({ ...base, stage: 'schema', reasons: violations });
      watermark.finish(seq);
      return;
    }
    const mapped = mapping.map(record);
    if (!mapped.ok) {
      const externalId = typeof mapped.payload?.externalId === 'string' ? mapped.payload.externalId : undefined;
      reject({ ...base, stage: 'mapping', reasons: mapped.reasons, payload: mapped.payload, externalId });
      watermark.finish(seq);
      return;
    }
    counts.mapped++;
    return sink.push({ seq, line, stream: msg.stream, key: key.text, object: mapping.object, externalId: mapped.externalId, payload: mapped.payload });
  };

  let inputError: InputError | undefined;
  let interrupted = false;
  const onAbort = () => {
    interrupted = true;
    log.warn('stop requested: no more input is read; finishing requests in flight');
    opts.input.destroy();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    try {
      const onUnknown = (l: number, type: string) => log.warn({ line: l, type }, `input line ${l}: unknown Singer message type "${type}" ignored`);
      reading: for await (const { firstLine, lines } of readLineBatches(opts.input)) {
        for (let i = 0; i < lines.length; i++) {
          if (interrupted) break reading;
          const text = lines[i]!;
          if (text.length === 0 || text.trim() === '') continue;
          const line = firstLine + i;
          const message = decodeMessage(line, text, onUnknown);
          if (!message) continue;
          switch (message.type) {
            case 'SCHEMA':
              registry.register(message, line);
              break;
            case 'RECORD': {
              // Synchronous unless the sink makes us wait (backpressure): no promise hop per record.
              const waiting = handleRecord(line, message);
              if (waiting) await waiting;
              break;
            }
            case 'STATE':
              watermark.holdState(message.value);
              sink.flushPending?.();
              releaseSafeState();
              break;
            case 'ACTIVATE_VERSION':
              log.debug({ stream: message.stream, version: message.version }, 'ACTIVATE_VERSION');
              await sink.activateVersion?.(message.stream, message.version);
              break;
          }
        }
      }
    } catch (e) {
      if (e instanceof InputError) inputError = e;
      else if (!(interrupted && isStreamDestroyed(e))) throw e;
    }

    if (interrupted) {
      await sink.close(settings.shutdown_grace_ms);
      releaseSafeState();
      if (watermark.unfinished > 0) {
        throw new InterruptedError(
          `interrupted: ${watermark.unfinished} record(s) read were not delivered; the last printed state does not cover them, so a rerun from it re-sends them`,
        );
      }
    } else {
      // Deliver what came before a broken line too, so its state can be printed; nothing after it is.
      await sink.drain();
      releaseSafeState();
      if (inputError) throw inputError;
    }

    const totals = counters.totals();
    const limit = rejectLimit(settings, totals.read);
    if (totals.rejected > limit) {
      throw new RejectLimitError(
        `${totals.rejected} of ${totals.read} records were rejected, more than max_rejected (${String(settings.max_rejected)}); see ${settings.rejects_file}`,
      );
    }
    return finish();
  } catch (e) {
    if (e instanceof FatalApiError) fatal = e;
    if (!(e instanceof InterruptedError) && !interrupted) await sink.close(0).catch(() => undefined);
    return finish(e as Error);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    rejects.close();
  }

  function finish(error?: Error): TargetRunResult {
    return { runId, counters, sink, statesPrinted: states.printed, lastState: states.lastPrinted, elapsedMs: Date.now() - started, error };
  }
}

function isStreamDestroyed(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED' || code === 'ABORT_ERR';
}

/** The record's key_properties as text (`id=42`), and the ones it lacks. */
function recordKey(record: JsonObject, stream: StreamInfo): { text: string; missing: string[] } {
  const props = stream.keyProperties;
  if (props.length === 0) return { text: '', missing: [] };
  const missing: string[] = [];
  const parts: string[] = [];
  for (const p of props) {
    const v = record[p];
    if (v === undefined || v === null) missing.push(p);
    else parts.push(`${p}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  return { text: parts.join(','), missing };
}
