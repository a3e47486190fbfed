import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type pg from 'pg';
import { PgBoss } from 'pg-boss';
import type { Logger } from 'pino';
import { isDatabaseUnavailable, OutageLog } from '../db/errors.js';
import type { Database } from '../db/schema.js';

/** One job = "bring this directory user's Auth0 state up to date"; it reads the latest state when it runs. */
export interface SyncJobData {
  readonly tenantId: string;
  readonly userId: string;
}

/** One queue per bound tenant, so the worker can serve tenants in turn (fairness, issue 6). */
export function tenantQueueName(tenantId: string): string {
  return `sync-${tenantId}`;
}

export const DEAD_LETTER_QUEUE = 'sync-dead-letter';

export interface QueueSettings {
  /** PostgreSQL schema pg-boss keeps its tables in. */
  readonly schema: string;
  /** Attempts before a job goes to the dead letter queue. */
  readonly retryLimit: number;
  /** A job active longer than this (process killed mid-job) is handed out again. */
  readonly expireInSeconds: number;
}

type Executor = Kysely<Database> | Transaction<Database>;

/** pg-boss statements run on our Kysely connection (and so inside a SCIM write's transaction). */
function onKysely(db: Executor) {
  return {
    executeSql: async (text: string, values: unknown[] = []) => {
      const result = await db.executeQuery(CompiledQuery.raw(text, values));
      return { rows: result.rows as any[] };
    },
  };
}

/**
 * pg-boss over the same pool as Kysely (STACK.md: works on PostgreSQL and PGlite). Statements go in the
 * `{text, values}` form so they are never turned into named prepared statements (some are scripts).
 */
function onPool(pool: pg.Pool) {
  return {
    executeSql: async (text: string, values: unknown[] = []) => {
      const result = (await pool.query({ text, values })) as unknown as pg.QueryResult | pg.QueryResult[];
      return { rows: Array.isArray(result) ? result.flatMap((r) => r.rows) : result.rows };
    },
  };
}

/**
 * The durable sync queue. Jobs are enqueued in the SCIM write's own transaction, so a rollback
 * enqueues nothing and a commit cannot lose the job. Queues use pg-boss's `stately` policy with the
 * user id as singleton key: while one job per user waits, further changes to that user add none —
 * ten changes in a burst cost one sync.
 */
export class SyncQueue {
  private readonly known = new Set<string>();

  private constructor(readonly boss: PgBoss, private readonly settings: QueueSettings) {}

  static async start(pool: pg.Pool, settings: QueueSettings, logger?: Logger): Promise<SyncQueue> {
    // Expired jobs (a process killed mid-job) are handed out again only when pg-boss supervises and
    // monitors the queue (every 60 s by default): do both at half the expiry, so a restart resumes a
    // killed import within ~1.5 × expireInSeconds instead of expireInSeconds + up to two minutes.
    const interval = Math.max(1, Math.min(60, Math.floor(settings.expireInSeconds / 2)));
    const boss = new PgBoss({ db: onPool(pool), schema: settings.schema, supervise: true, schedule: false, superviseIntervalSeconds: interval, monitorIntervalSeconds: interval });
    // pg-boss reports failures of its timers (supervision, monitoring, maintenance) as 'error' events and
    // tries again at the next interval; an EventEmitter 'error' without a listener would crash the process.
    const outage = new OutageLog();
    boss.on('error', (err) => {
      if (!logger) return;
      if (isDatabaseUnavailable(err)) outage.report(logger, err, 'the job queue retries its maintenance at the next interval');
      else logger.warn({ err }, 'job queue: maintenance failed; retried at the next interval');
    });
    await boss.start();
    if (!(await boss.getQueue(DEAD_LETTER_QUEUE))) await boss.createQueue(DEAD_LETTER_QUEUE);
    return new SyncQueue(boss, settings);
  }

  /** Creates the tenant's queue if needed (idempotent; done at bind time and by the worker). */
  async ensureTenantQueue(tenantId: string): Promise<string> {
    const name = tenantQueueName(tenantId);
    if (this.known.has(name)) return name;
    if (!(await this.boss.getQueue(name))) {
      try {
        await this.boss.createQueue(name, {
          policy: 'stately',
          retryLimit: this.settings.retryLimit,
          retryDelay: 2,
          retryBackoff: true,
          expireInSeconds: this.settings.expireInSeconds,
          deadLetter: DEAD_LETTER_QUEUE,
        });
      } catch (err) {
        // Another replica created it at the same moment.
        if (!(await this.boss.getQueue(name))) throw err;
      }
    }
    this.known.add(name);
    return name;
  }

  /** Enqueues one sync per user, set-wise, in `db` (a transaction to make it atomic with the write). */
  async enqueue(db: Executor, tenantId: string, userIds: readonly string[]): Promise<void> {
    if (userIds.length === 0) return;
    const name = tenantQueueName(tenantId);
    const jobs = [...new Set(userIds)].map((userId) => ({ data: { tenantId, userId } satisfies SyncJobData, singletonKey: userId }));
    await this.boss.insert(name, jobs, { db: onKysely(db) });
  }

  async stop(): Promise<void> {
    await this.boss.stop({ graceful: true, timeout: 10_000 });
  }
}
