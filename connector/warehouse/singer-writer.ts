import type { Writable } from 'node:stream';
import { OutputError } from '../core/errors.js';
import { stringifyExact } from '../singer/exact-json.js';

/**
 * Singer messages as JSON lines on stdout. Lines are gathered into chunks (one write per ~64 KiB, not
 * per row) and the writer waits for 'drain' whenever the stream says it is full, so a slow target
 * slows the tap down instead of piling rows up in memory. A consumer that goes away (EPIPE: the target
 * was killed) is an OutputError (exit 7, as target-siro's "output"), never a stack trace.
 */
export class SingerWriter {
  private chunk = '';
  private failure: OutputError | undefined;

  constructor(
    private readonly out: Writable = process.stdout,
    private readonly chunkSize = 64 * 1024,
  ) {
    out.on('error', (e: Error) => {
      this.failure ??= new OutputError('stdout', e);
    });
  }

  /** Queues one line that is already JSON text (RECORD lines are built directly from database text). */
  async line(json: string): Promise<void> {
    this.chunk += json + '\n';
    if (this.chunk.length >= this.chunkSize) await this.flush();
  }

  /** Queues a message object; bigint and LosslessNumber values are written as exact bare numbers. */
  async message(message: object): Promise<void> {
    await this.line(stringifyExact(message));
  }

  /** Writes what is queued and waits until the stream can take more. */
  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.chunk === '') return;
    const text = this.chunk;
    this.chunk = '';
    if (!this.out.write(text)) await this.drained();
    if (this.failure) throw this.failure;
  }

  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        this.out.off('drain', onDrain);
        this.out.off('error', onError);
        this.out.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onError = (e: Error) => done((this.failure ??= new OutputError('stdout', e)));
      const onClose = () => done((this.failure ??= new OutputError('stdout', new Error('the reader closed it'))));
      this.out.on('drain', onDrain);
      this.out.on('error', onError);
      this.out.on('close', onClose);
    });
  }
}
