/**
 * Writes users' sync runs and login decisions (src/db/user-history.ts) the way the SCIM request trail is
 * written (src/scim/audit-trail.ts): buffered in memory, one insert per batch, off the sync and login paths.
 */
import type { Kysely } from 'kysely';
import { isDatabaseUnavailable, OutageLog } from '../db/errors.js';
import type { Database } from '../db/schema.js';
import { insertUserHistory, type NewUserHistoryEntry } from '../db/user-history.js';
import type { Metrics } from '../metrics.js';

/** The part of a logger the recorder uses (pino's, Fastify's). */
interface HistoryLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface UserHistoryRecorderOptions {
  readonly db: Kysely<Database>;
  readonly logger: HistoryLogger;
  /** `provisio_user_history_records_total`: what was written and what was dropped. */
  readonly metrics?: Pick<Metrics, 'userHistoryRecords'> | undefined;
  /** A batch is written at the latest this long after its first entry (default 250 ms). */
  readonly flushMs?: number;
  /** Entries per insert statement (default 200: a row carries up to 20 calls). */
  readonly batchSize?: number;
  /** Entries held in memory at most; beyond, new ones are dropped and counted (default 5,000). */
  readonly capacity?: number;
}

/** Error texts and deny reasons are kept this long at most. */
export const DETAIL_MAX = 500;

/** Text PostgreSQL can store (no NUL: `text` refuses it, and `jsonb` refuses its escape), at most `max` characters. */
function storable(text: string, max: number): string {
  const clean = text.includes('\u0000') ? text.replaceAll('\u0000', '') : text;
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

function storableFacts(value: unknown): unknown {
  if (typeof value === 'string') return storable(value, DETAIL_MAX);
  if (Array.isArray(value)) return value.map(storableFacts);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, storableFacts(v)]));
  return value;
}

/**
 * Buffers history entries and writes them in batches, one batch at a time. `record` is synchronous and
 * O(1) and never throws: a sync job or a login never waits for, or fails on, its history. While the
 * database is slow or gone the buffer fills up to `capacity` and further entries are dropped; a batch
 * whose insert fails (database gone, table missing) is dropped too, logged at most once per 30 s and
 * counted in `counts().dropped`, never retried.
 */
export class UserHistoryRecorder {
  private buffer: NewUserHistoryEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private written = 0;
  private dropped = 0;
  private readonly flushMs: number;
  private readonly batchSize: number;
  private readonly capacity: number;
  private readonly outage = new OutageLog();
  private lastErrorLogAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: UserHistoryRecorderOptions) {
    this.flushMs = options.flushMs ?? 250;
    this.batchSize = options.batchSize ?? 200;
    this.capacity = options.capacity ?? 5000;
  }

  /** Queues one entry (its texts made storable); drops it, counted, when the buffer is full or the recorder closed. */
  record(entry: NewUserHistoryEntry): void {
    if (this.closed || this.buffer.length >= this.capacity) {
      this.dropped++;
      this.options.metrics?.userHistoryRecords.inc({ kind: entry.kind, outcome: 'dropped' });
      return;
    }
    this.buffer.push({
      ...entry,
      auth0UserId: entry.auth0UserId === null ? null : storable(entry.auth0UserId, DETAIL_MAX),
      detail: entry.detail === null ? null : storable(entry.detail, DETAIL_MAX),
      facts: entry.facts === null ? null : (storableFacts(entry.facts) as Record<string, unknown>),
    });
    if (this.buffer.length >= this.batchSize) void this.start(false);
    else this.schedule();
  }

  /** Drops what waits for a user whose records a GDPR erasure has just deleted, so none is written after it. */
  forget(tenantId: string, userId: string): void {
    this.buffer = this.buffer.filter((e) => e.tenantId !== tenantId || e.userId !== userId);
  }

  /** Entries written, dropped, and waiting, since start. */
  counts(): { written: number; dropped: number; buffered: number } {
    return { written: this.written, dropped: this.dropped, buffered: this.buffer.length };
  }

  /** Writes everything recorded so far (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.running || this.buffer.length > 0) await (this.running ?? this.start(true));
  }

  /** Stops taking entries and writes what is left. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private schedule(): void {
    if (this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.start(true);
    }, this.flushMs);
    this.timer.unref();
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
      if (this.buffer.length > 0) this.schedule();
    });
    return this.running;
  }

  private async drain(all: boolean): Promise<void> {
    let owed = all ? this.buffer.length : 0;
    while (this.buffer.length >= this.batchSize || (owed > 0 && this.buffer.length > 0)) {
      const batch = this.buffer.slice(0, this.batchSize);
      this.buffer = this.buffer.slice(batch.length);
      owed -= batch.length;
      await this.write(batch);
    }
  }

  private async write(batch: NewUserHistoryEntry[]): Promise<void> {
    try {
      this.written += await insertUserHistory(this.options.db, batch);
      this.countBatch(batch, 'written');
    } catch (err) {
      this.dropped += batch.length;
      this.countBatch(batch, 'dropped');
      if (isDatabaseUnavailable(err)) {
        this.outage.report(this.options.logger, err, `user history entries (sync runs, login decisions) are dropped (${this.dropped} since start)`);
      } else if (Date.now() - this.lastErrorLogAt >= 30_000) {
        this.lastErrorLogAt = Date.now();
        this.options.logger.error({ err, entries: batch.length, droppedSinceStart: this.dropped }, 'writing user history failed; the batch is dropped');
      }
    }
  }

  private countBatch(batch: readonly NewUserHistoryEntry[], outcome: 'written' | 'dropped'): void {
    const counter = this.options.metrics?.userHistoryRecords;
    if (!counter) return;
    const sync = batch.filter((e) => e.kind === 'sync').length;
    if (sync > 0) counter.inc({ kind: 'sync', outcome }, sync);
    if (batch.length > sync) counter.inc({ kind: 'login', outcome }, batch.length - sync);
  }
}
