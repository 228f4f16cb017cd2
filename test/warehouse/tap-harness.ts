import { Writable } from 'node:stream';
import { createLogger } from '../../connector/core/log.js';
import { parseExact } from '../../connector/singer/exact-json.js';
import { loadSettings, type TapSettings } from '../../connector/warehouse/config.js';
import { openWarehouse, type WarehouseConnection } from '../../connector/warehouse/dialect.js';
import { discoverStreams } from '../../connector/warehouse/discovery.js';
import { SingerWriter } from '../../connector/warehouse/singer-writer.js';
import { emptyState, parseState, type TapState } from '../../connector/warehouse/state.js';
import { runSync } from '../../connector/warehouse/sync.js';

/** Runs the tap's modules in-process (no child process) and hands back its stdout lines. */

export const silentLog = createLogger('silent');

export function settingsFor(url: string, streams: unknown[], extra: Record<string, string> = {}): TapSettings {
  return loadSettings({ env: { TAP_WAREHOUSE_CONNECTION: url, TAP_WAREHOUSE_STREAMS: JSON.stringify(streams), ...extra } });
}

export interface TapOutput {
  /** stdout lines, exactly as written. */
  lines: string[];
  messages: Record<string, any>[];
  records(stream?: string): Record<string, any>[];
  states(): Record<string, any>[];
  lastState(): Record<string, any>;
}

export function outputOf(text: string): TapOutput {
  const lines = text.split('\n').filter((l) => l !== '');
  const messages = lines.map((l) => parseExact(l) as Record<string, any>);
  return {
    lines,
    messages,
    records: (stream) => messages.filter((m) => m.type === 'RECORD' && (stream === undefined || m.stream === stream)).map((m) => m.record),
    states: () => messages.filter((m) => m.type === 'STATE').map((m) => m.value),
    lastState: () => messages.filter((m) => m.type === 'STATE').at(-1)!.value,
  };
}

/** A Writable that keeps everything written to it. */
export function collector(): { out: Writable; text(): string } {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { out, text: () => chunks.join('') };
}

/** One tap run over the configured streams; `state` is a state value as a target prints it. */
export async function runTap(settings: TapSettings, state?: string | TapState): Promise<TapOutput> {
  const warehouse = await openWarehouse(settings.dialect, { connection: settings.connection, log: silentLog });
  try {
    return await runTapWith(warehouse, settings, state);
  } finally {
    await warehouse.close();
  }
}

export async function runTapWith(warehouse: WarehouseConnection, settings: TapSettings, state?: string | TapState): Promise<TapOutput> {
  const { out, text } = collector();
  const initial =
    state === undefined ? emptyState() : typeof state === 'string' ? parseState(state) : state;
  await runSync({
    warehouse,
    streams: await discoverStreams(warehouse, settings.streams),
    state: initial,
    writer: new SingerWriter(out),
    stateEveryRows: settings.stateEveryRows,
    log: silentLog,
  });
  return outputOf(text());
}
