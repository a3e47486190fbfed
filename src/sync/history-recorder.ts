/**
 * Writes users' sync runs and login decisions (src/db/user-history.ts) the way the SCIM request trail is
 * written (src/scim/audit-trail.ts): buffered in memory, one insert per batch, off the sync and login paths.
 */
import type { Kysely } from 'kysely';
import { BatchedWriter, type BatchLogger } from '../db/batched-writer.js';
import type { Database } from '../db/schema.js';
import { insertUserHistory, type NewUserHistoryEntry } from '../db/user-history.js';
import { storableText } from '../http/text-hygiene.js';
import type { Metrics } from '../metrics.js';

export interface UserHistoryRecorderOptions {
  readonly db: Kysely<Database>;
  readonly logger: BatchLogger;
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


function storableFacts(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value, DETAIL_MAX);
  if (Array.isArray(value)) return value.map(storableFacts);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, storableFacts(v)]));
  return value;
}

/**
 * Buffers history entries and writes them in batches (`BatchedWriter`): `record` is synchronous and O(1)
 * and never throws, so a sync job or a login never waits for, or fails on, its history. Entries dropped
 * (buffer full, or their batch failed) are counted in `counts().dropped` and
 * `provisio_user_history_records_total{outcome="dropped"}`.
 */
export class UserHistoryRecorder {
  private readonly writer: BatchedWriter<NewUserHistoryEntry>;

  constructor(options: UserHistoryRecorderOptions) {
    const count = (batch: readonly NewUserHistoryEntry[], outcome: 'written' | 'dropped'): void => {
      const counter = options.metrics?.userHistoryRecords;
      if (!counter) return;
      const sync = batch.filter((e) => e.kind === 'sync').length;
      if (sync > 0) counter.inc({ kind: 'sync', outcome }, sync);
      if (batch.length > sync) counter.inc({ kind: 'login', outcome }, batch.length - sync);
    };
    this.writer = new BatchedWriter<NewUserHistoryEntry>({
      insert: (batch) => insertUserHistory(options.db, batch),
      logger: options.logger,
      what: 'user history entries',
      flushMs: options.flushMs ?? 250,
      batchSize: options.batchSize ?? 200,
      capacity: options.capacity ?? 5000,
      written: (batch) => count(batch, 'written'),
      dropped: (records) => count(typeof records === 'number' ? [] : records, 'dropped'),
    });
  }

  /** Queues one entry (its texts made storable); drops it, counted, when the buffer is full or the recorder closed. */
  record(entry: NewUserHistoryEntry): void {
    this.writer.push({
      ...entry,
      auth0UserId: entry.auth0UserId === null ? null : storableText(entry.auth0UserId, DETAIL_MAX),
      detail: entry.detail === null ? null : storableText(entry.detail, DETAIL_MAX),
      facts: entry.facts === null ? null : (storableFacts(entry.facts) as Record<string, unknown>),
    });
  }

  /** Drops what waits for a user whose records a GDPR erasure has just deleted, so none is written after it. */
  forget(tenantId: string, userId: string): void {
    this.writer.discard((e) => e.tenantId === tenantId && e.userId === userId);
  }

  /** Entries written, dropped, and waiting, since start. */
  counts(): { written: number; dropped: number; buffered: number } {
    return this.writer.counts();
  }

  /** Writes everything recorded so far (tests, shutdown). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Stops taking entries and writes what is left. */
  close(): Promise<void> {
    return this.writer.close();
  }
}
