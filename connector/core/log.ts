import pino, { type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { terminalLine } from './terminal-line.js';

/**
 * Logs go to stderr only (stdout carries state lines). JSON lines by default, which is what orchestrators
 * collect; human-readable lines when stderr is a terminal. Those are formatted in this thread and written
 * through the terminal's progress line (run/progress.ts), which clears itself first, so a log line never
 * lands in the middle of the progress display.
 */
export function createLogger(level: string = 'info'): Logger {
  if (process.stderr.isTTY) {
    // One line per entry: a multi-line object would push the progress line far down at every log.
    const pretty = prettyFactory({ colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l' });
    return pino({ level, base: undefined }, { write: (line: string) => terminalLine.writeAbove(pretty(line)) });
  }
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }));
}

export type { Logger };
