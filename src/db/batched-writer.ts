/**
 * Writes records the request path produces (the SCIM audit trail, users' sync and login history) in
 * batches, off that path: `push` is synchronous and O(1) and never waits for, or throws from, the
 * database. One batch is written at a time; while the database is slow or gone the buffer fills up to
 * `capacity` and further records are dropped; a batch whose insert fails is dropped too (an outage is
 * logged once, any other failure at most every 30 s), never retried, so an outage costs memory only up to
 * `capacity`.
 */
import { isDatabaseUnavailable, OutageLog } from './errors.js';

/** The part of a logger the writer uses (pino's, Fastify's). */
export interface BatchLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BatchedWriterOptions<T> {
  /** Inserts one batch; answers how many rows were stored (rows of a deleted tenant are not). */
  readonly insert: (batch: T[]) => Promise<number>;
  readonly logger: BatchLogger;
  /** What is written, plural, for log lines: "SCIM request audit records". */
  readonly what: string;
  /** A batch is written at the latest this long after its first record. */
  readonly flushMs: number;
  readonly batchSize: number;
  readonly capacity: number;
  /** Told of records stored, or dropped (buffer full, writer closed, or their batch failed). */
  readonly written?: (batch: readonly T[], stored: number) => void;
  readonly dropped?: (records: readonly T[] | number) => void;
  /**
   * Records kept aside by the owner until a write is due (the audit trail's counted reads): called before
   * each timed or explicit flush, it may `push` them; `deferred()` says whether any wait.
   */
  readonly beforeFlush?: () => void;
  readonly deferred?: () => boolean;
}

export class BatchedWriter<T> {
  private buffer: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private written = 0;
  private dropped = 0;
  private readonly outage = new OutageLog();
  private lastErrorLogAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: BatchedWriterOptions<T>) {}

  /** Records waiting to be written. */
  get buffered(): number {
    return this.buffer.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether one more record fits (else the owner drops it). */
  get hasRoom(): boolean {
    return !this.closed && this.buffer.length < this.options.capacity;
  }

  /** Queues one record; drops it, counted, when the buffer is full or the writer closed. */
  push(record: T): void {
    if (!this.hasRoom) return this.drop([record]);
    this.buffer.push(record);
    if (this.buffer.length >= this.options.batchSize) void this.start(false);
    else this.schedule();
  }

  /** Counts `n` records the owner could not queue. */
  drop(records: readonly T[] | number): void {
    this.dropped += typeof records === 'number' ? records : records.length;
    this.options.dropped?.(records);
  }

  /** Removes waiting records (a GDPR erasure: nothing of the user may be written after it). */
  discard(predicate: (record: T) => boolean): void {
    this.buffer = this.buffer.filter((r) => !predicate(r));
  }

  /** Asks for a timed write of what waits (the owner's deferred records). */
  schedule(): void {
    if (this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.options.beforeFlush?.();
      void this.start(true);
    }, this.options.flushMs);
    this.timer.unref();
  }

  counts(): { written: number; dropped: number; buffered: number } {
    return { written: this.written, dropped: this.dropped, buffered: this.buffer.length };
  }

  /** Writes everything recorded so far (tests, shutdown); resolves when the buffer was empty once. */
  async flush(): Promise<void> {
    this.options.beforeFlush?.();
    while (this.running || this.buffer.length > 0) await (this.running ?? this.start(true));
  }

  /** Stops taking records and writes what is left. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  /** Starts a drain unless one runs; `all`: write what is buffered now, else only full batches. */
  private start(all: boolean): Promise<void> {
    if (this.running) return this.running;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.running = this.drain(all).finally(() => {
      this.running = undefined;
      if (this.buffer.length > 0 || this.options.deferred?.()) this.schedule();
    });
    return this.running;
  }

  private async drain(all: boolean): Promise<void> {
    // Records arriving during a write wait for a full batch or their own timer, so a busy process writes
    // batches rather than a trickle of small inserts.
    const { batchSize } = this.options;
    let owed = all ? this.buffer.length : 0;
    while (this.buffer.length >= batchSize || (owed > 0 && this.buffer.length > 0)) {
      const batch = this.buffer.length <= batchSize ? this.buffer : this.buffer.slice(0, batchSize);
      this.buffer = batch === this.buffer ? [] : this.buffer.slice(batchSize);
      owed -= batch.length;
      await this.write(batch);
    }
  }

  private async write(batch: T[]): Promise<void> {
    try {
      const stored = await this.options.insert(batch);
      this.written += stored;
      this.options.written?.(batch, stored);
    } catch (err) {
      this.drop(batch);
      const { logger, what } = this.options;
      if (isDatabaseUnavailable(err)) {
        this.outage.report(logger, err, `${what} are dropped (${this.dropped} since start)`);
      } else if (Date.now() - this.lastErrorLogAt >= 30_000) {
        this.lastErrorLogAt = Date.now();
        logger.error({ err, records: batch.length, droppedSinceStart: this.dropped }, `writing ${what} failed; the batch is dropped`);
      }
    }
  }
}
