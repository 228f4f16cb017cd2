import pino, { type Logger } from 'pino';
import { createRequire } from 'node:module';
import { redact } from './secrets.js';
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
    // Loaded only for a terminal: orchestrators (stderr a pipe) never pay for it.
    const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    const pretty = prettyFactory({ colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l' });
    return pino({ level, base: undefined }, { write: (line: string) => terminalLine.writeAbove(pretty(redact(line))) });
  }
  // Every line passes `redact` on its way out: no log call can leak a secret, whatever it logs.
  const stderr = pino.destination({ dest: 2, sync: true });
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, { write: (line: string) => stderr.write(redact(line)) });
}

export type { Logger };
