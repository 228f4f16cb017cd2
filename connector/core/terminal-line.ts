/**
 * The bottom line of a terminal's stderr. Whoever shows progress there (run/progress.ts) draws it; the logger
 * writes its lines above it (core/log.ts), so log lines and the progress line never mix.
 */

const CLEAR = '\r\x1b[K';

/** The bottom line of a terminal's stderr, owned by whoever shows progress there. */
export class TerminalLine {
  private shown = '';

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  get isTerminal(): boolean {
    return this.out.isTTY === true;
  }

  /** Draws `text` in place of the current line (cut to the terminal width, since a wrapped line cannot be redrawn). */
  show(text: string): void {
    // A pseudo-terminal without a size reports 0 columns.
    const width = Math.max(20, (this.out.columns || 100) - 1);
    this.shown = text.length > width ? text.slice(0, width - 1) + '…' : text;
    this.out.write(CLEAR + this.shown);
  }

  /** Removes the line (before the summary, or when the run ends). */
  clear(): void {
    if (this.shown === '') return;
    this.shown = '';
    this.out.write(CLEAR);
  }

  /** Writes whole lines of other output above the progress line. */
  writeAbove(text: string): void {
    if (this.shown === '') {
      this.out.write(text);
      return;
    }
    this.out.write(CLEAR + (text.endsWith('\n') ? text : text + '\n') + this.shown);
  }
}

/** The process's stderr line: the logger writes through it (core/log.ts). */
export const terminalLine = new TerminalLine();
