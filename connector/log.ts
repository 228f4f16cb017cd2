import pino, { type Logger } from 'pino';

/**
 * Logs go to stderr only (stdout carries state lines). JSON lines by default, which is what orchestrators
 * collect; human-readable lines when stderr is a terminal.
 */
export function createLogger(level: string = 'info'): Logger {
  if (process.stderr.isTTY) {
    return pino({ level, base: undefined }, pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: true } }));
  }
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }));
}

export type { Logger };
