import { fstatSync } from 'node:fs';
import { isatty } from 'node:tty';

/**
 * The bottom line of a terminal's stderr. Whoever shows progress there (run/progress.ts) draws it; the logger
 * writes its lines above it (core/log.ts), and the state lines (checkpoint/state-output.ts) clear it first
 * when stdout is the same terminal, so nothing else ever lands on the progress line.
 */

const CLEAR = '\r\x1b[K';

/** The bottom line of a terminal's stderr, owned by whoever shows progress there. */
export class TerminalLine {
  private shown = '';
  private readonly sharing = new Map<number, boolean>();

  /**
   * `sameTerminal(fd)`: whether output to `fd` appears on this terminal (default: `fd` is a terminal and the
   * same device as `out`'s).
   */
  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly sameTerminal: (fd: number) => boolean = (fd) => sameDevice(fd, (out as { fd?: unknown }).fd),
  ) {}

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

  /**
   * Runs `write`, which writes to file descriptor `fd` itself (stdout's state lines), with the progress line
   * out of the way when `fd` shows on the same terminal: the line is cleared first and drawn again at the next
   * redraw, below what was written. For any other `fd` (a pipe, a file) it only runs `write`.
   */
  beside<T>(fd: number, write: () => T): T {
    if (this.shown !== '' && this.shares(fd)) this.clear();
    return write();
  }

  private shares(fd: number): boolean {
    let same = this.sharing.get(fd);
    if (same === undefined) {
      try {
        same = this.sameTerminal(fd);
      } catch {
        same = false;
      }
      this.sharing.set(fd, same);
    }
    return same;
  }
}

/** Whether two file descriptors are the same terminal device (stdout and stderr of a shell, say). */
function sameDevice(fd: number, other: unknown): boolean {
  if (typeof other !== 'number' || !isatty(fd) || !isatty(other)) return false;
  const a = fstatSync(fd);
  const b = fstatSync(other);
  return a.rdev === b.rdev && a.dev === b.dev && a.ino === b.ino;
}

/** The process's stderr line: the logger writes through it (core/log.ts). */
export const terminalLine = new TerminalLine();
