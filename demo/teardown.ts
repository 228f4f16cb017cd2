import { out } from './show.js';

/**
 * Everything the demo starts registers how to stop it here; `run()` stops it all in reverse order, on
 * success, on error and on Ctrl-C alike, so the demo never leaves a server or a child process behind.
 * The first SIGINT/SIGTERM aborts `signal` (the running step stops its children and the demo unwinds);
 * a third one exits at once.
 */
export class Teardown {
  private readonly steps: { what: string; stop: () => Promise<unknown> | unknown }[] = [];
  private readonly controller = new AbortController();
  private signals = 0;
  readonly signal: AbortSignal = this.controller.signal;

  add(what: string, stop: () => Promise<unknown> | unknown): void {
    this.steps.push({ what, stop });
  }

  /** Throws once a signal came in: called between steps, so nothing new starts after Ctrl-C. */
  throwIfStopped(): void {
    if (this.signal.aborted) throw new StoppedError(String(this.signal.reason));
  }

  catchSignals(): void {
    const onSignal = (sig: NodeJS.Signals) => {
      this.signals++;
      if (this.signals === 1) {
        out(`\n${sig}: stopping the demo and everything it started ...`);
        this.controller.abort(sig);
      } else if (this.signals === 2) {
        out(`${sig}: still stopping (once more to quit at once)`);
      } else {
        process.exit(130);
      }
    };
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  }

  /** Stops everything registered, newest first; a failing step does not keep the others from running. */
  async run(): Promise<void> {
    while (this.steps.length > 0) {
      const { what, stop } = this.steps.pop()!;
      try {
        await stop();
      } catch (e) {
        process.stderr.write(`demo: stopping ${what} failed: ${(e as Error).message}\n`);
      }
    }
  }
}

export class StoppedError extends Error {
  constructor(signal: string) {
    super(`stopped by ${signal}`);
    this.name = 'StoppedError';
  }
}
