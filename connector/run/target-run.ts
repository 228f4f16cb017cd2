import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { rejectLimit, type Settings } from '../config/settings.js';
import { ConfigError, FatalApiError, InputError, InterruptedError, MappingErrors, OutputError, RejectLimitError } from '../core/errors.js';
import { RejectsFile, type RejectEntry } from '../checkpoint/rejects-file.js';
import { StateOutput } from '../checkpoint/state-output.js';
import { Watermark } from '../checkpoint/watermark.js';
import type { Outcome, OutcomeHandler, Sink } from '../delivery/sink.js';
import type { MappingSet } from '../mapping/index.js';
import { readBatchRecords } from '../singer/batch-files.js';
import type { BatchMessage, JsonObject, RecordMessage, SchemaMessage } from '../singer/messages.js';
import { decodeMessage, readLineBatches } from '../singer/reader.js';
import { StreamRegistry, type Violation } from '../singer/streams.js';
import { RunCounters } from './counters.js';
import { recordStep, skippedStreamNote, unknownColumns, unmappedStreamError } from './record-step.js';

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
  const registry = new StreamRegistry(settings.validate_records, (stream, patterns) =>
    log.warn({ stream, patterns }, `stream "${stream}": ${patterns.length} pattern(s) of its SCHEMA are not checked: they cannot run in linear time`),
  );
  const watermark = new Watermark();
  // A dry run writes nothing a later real run reads: its states would move the bookmark past unsent records.
  const states = new StateOutput(settings.dry_run ? undefined : settings.state_file, opts.stdoutFd);
  if (settings.dry_run && settings.state_file) log.info({ state_file: settings.state_file }, 'dry run: state_file is not written');
  const rejects = new RejectsFile(settings.rejects_file, runId);
  const counters = opts.counters ?? new RunCounters();
  const warnedUnmapped = new Set<string>();
  let fatal: Error | undefined;
  /** An outcome could not be recorded (stdout, state_file, rejects file): the run stops, no state after it. */
  let outputFailure: OutputError | undefined;

  const releaseSafeState = (): void => {
    if (fatal || outputFailure) return; // after a fatal error, no further state is printed
    const safe = watermark.takeSafeState();
    if (!safe) return;
    rejects.sync();
    states.print(safe.value);
    if (states.failure) throw states.failure;
  };

  const releaseSafeStateQuietly = (): void => {
    try {
      releaseSafeState();
    } catch (e) {
      failOutput(e);
    }
  };

  /** Stops the run on a failed write: nothing more is read or sent, and no state is printed after it. */
  const failOutput = (e: unknown): void => {
    if (!(e instanceof OutputError)) throw e;
    if (outputFailure) return;
    outputFailure = e;
    log.error({ error: e.message }, 'an outcome could not be recorded: stopping the run');
    stop();
  };

  const reject = (entry: RejectEntry): void => {
    rejects.write(entry);
    counters.stream(entry.stream).rejected++;
    counters.noteReject(entry);
    log.warn({ stream: entry.stream, key: entry.key, line: entry.line, stage: entry.stage, reasons: entry.reasons }, 'record rejected');
  };

  const onOutcome = (o: Outcome): void => {
    if (outputFailure) return;
    try {
      recordOutcome(o);
    } catch (e) {
      // The sink calls this and must not be thrown at: a failed write stops the run from here.
      failOutput(e);
    }
  };

  const recordOutcome = (o: Outcome): void => {
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

  // One handler per Singer message type; the record step itself is pure (record-step.ts), its effects are here.
  const uncheckedStreams = new Set<string>();
  const handleSchema = (line: number, msg: SchemaMessage): void => {
    const unmapped = unmappedStreamError(msg.stream, line, mappings, settings.skip_streams);
    if (unmapped) throw unmapped;
    const mapping = mappings.forStream(msg.stream);
    if (mapping) {
      const { error, unchecked } = unknownColumns(msg, line, mapping);
      if (error) throw error;
      if (unchecked && !uncheckedStreams.has(msg.stream)) {
        uncheckedStreams.add(msg.stream);
        log.warn({ stream: msg.stream }, unchecked);
      }
    }
    registry.register(msg, line);
  };

  /** A RECORD (or a record of a BATCH file); one so deep that walking it overflows the stack is bad input. */
  const handleRecord = (line: number, msg: RecordMessage, batch?: { file: string; row: number }): void | Promise<void> => {
    try {
      return processRecord(line, msg, batch);
    } catch (e) {
      throw tooDeepAsInputError(e, line, msg.stream);
    }
  };

  const processRecord = (line: number, msg: RecordMessage, batch?: { file: string; row: number }): void | Promise<void> => {
    const stream = registry.get(msg.stream);
    if (!stream) throw new InputError(line, `${batch ? 'BATCH' : 'RECORD'} before any SCHEMA for its stream`, msg.stream);
    const seq = watermark.nextSeq();
    const counts = counters.stream(msg.stream);
    counts.read++;
    const step = recordStep(msg, stream, mappings.forStream(msg.stream));
    if (step.kind === 'item') {
      counts.mapped++;
      if (step.warnings) noteSchemaWarnings(msg.stream, step.warnings);
      return sink.push({ seq, line, stream: msg.stream, key: step.key, object: step.object, externalId: step.externalId, payload: step.payload });
    }
    if (step.kind === 'skip') {
      counts.skipped++;
      if (!warnedUnmapped.has(msg.stream)) {
        warnedUnmapped.add(msg.stream);
        log.warn({ stream: msg.stream, mappings: mappings.files }, skippedStreamNote(msg.stream));
      }
    } else {
      const built = step.stage === 'mapping' ? { payload: step.payload, externalId: step.externalId } : {};
      const source = batch ? { batch_file: batch.file, batch_row: batch.row } : {};
      // The ledger keeps the refused row with its source record: a mapping fix can then send it.
      sink.noteUnsent?.({ stream: msg.stream, externalId: step.externalId, object: step.object, reasons: step.reasons, stage: step.stage, record: msg.record });
      reject({ stream: msg.stream, key: step.key, line, seq, ...source, record: msg.record, stage: step.stage, reasons: step.reasons, ...built });
    }
    watermark.finish(seq);
  };

  /**
   * A Meltano SDK BATCH: every record of its files goes through the same record step as a RECORD (line: the
   * BATCH message's), so a STATE after it waits for all of them. Files are read as delivery takes records.
   */
  const handleBatch = async (line: number, msg: BatchMessage): Promise<void> => {
    for await (const chunk of readBatchRecords(msg, line, settings.max_line_bytes)) {
      for (let i = 0; i < chunk.records.length; i++) {
        if (interrupted) return;
        const record: JsonObject = chunk.records[i]!;
        const waiting = handleRecord(line, { type: 'RECORD', stream: msg.stream, record }, { file: chunk.file, row: chunk.firstRow + i });
        if (waiting) await waiting;
      }
    }
  };

  const noteSchemaWarnings = (stream: string, warnings: Violation[]): void => {
    for (const w of warnings) {
      if (counters.noteSchemaWarning(stream, w.column!, w.text)) {
        log.warn({ stream, column: w.column }, `stream "${stream}": ${w.text}; column "${w.column}" is not read by the mapping, so the rows go on (warned once per column)`);
      }
    }
  };

  const handleState = (value: unknown): void => {
    watermark.holdState(value);
    sink.flushPending?.();
    releaseSafeState();
  };

  const handleActivateVersion = async (stream: string, version: number): Promise<void> => {
    log.debug({ stream, version }, 'ACTIVATE_VERSION');
    await sink.activateVersion?.(stream, version);
  };

  /** End of input: every record read gets its outcome, so the last state can be printed. */
  const drainAndReleaseState = async (): Promise<void> => {
    await sink.drain();
    releaseSafeState();
  };

  /** Bad input, or a stream the mappings cannot take (at its SCHEMA): what came before it is still delivered. */
  let inputError: InputError | ConfigError | MappingErrors | undefined;
  let interrupted = false;
  /** The sink's close, once the run stops early (a signal or a failed write): every wait in the sink ends. */
  let closing: Promise<void> | undefined;
  const stop = (): void => {
    if (interrupted) return;
    interrupted = true;
    opts.input.destroy();
    // Requests in flight get shutdown_grace_ms (none after a failed write: its outcomes could not be kept).
    closing = sink.close(outputFailure ? 0 : settings.shutdown_grace_ms);
  };
  const onAbort = () => {
    log.warn('stop requested: no more input is read; finishing requests in flight');
    stop();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  // A signal while the run was being set up (ledger migrations, say) counts as well.
  if (opts.signal?.aborted) onAbort();

  try {
    try {
      const onUnknown = (l: number, type: string) => log.warn({ line: l, type }, `input line ${l}: unknown Singer message type "${type}" ignored`);
      const lineLimit = { maxLineBytes: settings.max_line_bytes, limitName: 'max_line_bytes' };
      reading: for await (const { firstLine, lines } of readLineBatches(opts.input, lineLimit)) {
        for (let i = 0; i < lines.length; i++) {
          if (interrupted) break reading;
          const text = lines[i]!;
          if (text.length === 0 || text.trim() === '') continue;
          const line = firstLine + i;
          const message = decodeMessage(line, text, onUnknown);
          if (!message) continue;
          switch (message.type) {
            case 'SCHEMA':
              handleSchema(line, message);
              break;
            case 'RECORD': {
              // Synchronous unless the sink makes us wait (backpressure): no promise hop per record.
              const waiting = handleRecord(line, message);
              if (waiting) await waiting;
              break;
            }
            case 'STATE':
              handleState(message.value);
              break;
            case 'ACTIVATE_VERSION':
              await handleActivateVersion(message.stream, message.version);
              break;
            case 'BATCH':
              await handleBatch(line, message);
              break;
          }
        }
      }
    } catch (e) {
      if (e instanceof InputError || e instanceof ConfigError || e instanceof MappingErrors) inputError = e;
      else if (e instanceof OutputError) failOutput(e);
      else if (!(interrupted && isStoppedError(e))) throw e;
    }

    if (!interrupted) {
      // Deliver what came before a broken line too, so its state can be printed; nothing after it is.
      // A signal during the drain (a long Retry-After, a backoff) closes the sink, which ends the drain.
      try {
        await drainAndReleaseState();
      } catch (e) {
        if (e instanceof OutputError) failOutput(e);
        else if (!(interrupted && isStoppedError(e))) throw e;
      }
    }
    if (interrupted) {
      await closing;
      releaseSafeStateQuietly();
      await states.flush();
      if (outputFailure) throw outputFailure;
      if (states.failure) throw states.failure;
      // Stopped by a signal: the input was not read to its end, whatever was delivered.
      throw new InterruptedError(
        watermark.unfinished > 0
          ? `interrupted: ${watermark.unfinished} record(s) read were not delivered; the last printed state does not cover them, so a rerun from it re-sends them`
          : 'interrupted before the end of the input: every record read was finished and the last printed state covers them',
      );
    } else if (inputError) {
      await states.flush();
      throw inputError;
    }
    await states.flush();
    if (states.failure) throw states.failure;

    const totals = counters.totals();
    const limit = rejectLimit(settings, totals.read);
    if (totals.rejected > limit) {
      throw new RejectLimitError(
        `${totals.rejected} of ${totals.read} records were rejected, more than max_rejected (${String(settings.max_rejected)}); see ${settings.rejects_file}`,
      );
    }
    return finish();
  } catch (e) {
    if (e instanceof FatalApiError || e instanceof OutputError) fatal = e;
    if (!(e instanceof InterruptedError) && !interrupted) await sink.close(0).catch(() => undefined);
    await states.flush();
    return finish(e as Error);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    rejects.close();
  }

  function finish(error?: Error): TargetRunResult {
    return { runId, counters, sink, statesPrinted: states.printed, lastState: states.lastPrinted, elapsedMs: Date.now() - started, error };
  }
}

/** A stack overflow while walking a record is bad input (exit 3), not a crash; other errors pass unchanged. */
function tooDeepAsInputError(e: unknown, line: number, stream: string): unknown {
  if (e instanceof RangeError && /call stack/i.test(e.message)) return new InputError(line, 'RECORD is nested too deeply to process', stream);
  return e;
}

/** What reading or delivery throws once the run was stopped on purpose (input destroyed, sink closed). */
function isStoppedError(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED' || code === 'ABORT_ERR') return true;
  return e instanceof Error && e.name === 'SinkClosedError';
}
