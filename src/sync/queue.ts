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

/** A job as the worker holds it between fetching and settling it. */
export interface SyncJob {
  readonly id: string;
  readonly retryCount: number;
  readonly data: SyncJobData;
}

/**
 * The one queue every tenant's sync jobs go to. Each job carries its tenant as pg-boss *group*, and the
 * worker fetches with a per-group concurrency, so the idle cost is one polling statement per replica
 * whatever the number of tenants (issue 15), while one tenant's import cannot hold more than its share
 * of the workers (fairness, issue 6).
 */
export const SYNC_QUEUE = 'sync';

export const DEAD_LETTER_QUEUE = 'sync-dead-letter';

/** Earlier versions kept one queue per bound tenant, named `sync-<tenant uuid>`. */
const LEGACY_TENANT_QUEUE = /^sync-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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
export function onKysely(db: Executor) {
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
export function onPool(pool: pg.Pool) {
  return {
    executeSql: async (text: string, values: unknown[] = []) => {
      const result = (await pool.query({ text, values })) as unknown as pg.QueryResult | pg.QueryResult[];
      return { rows: Array.isArray(result) ? result.flatMap((r) => r.rows) : result.rows };
    },
  };
}

/**
 * The durable sync queue. Jobs are enqueued in the SCIM write's own transaction, so a rollback
 * enqueues nothing and a commit cannot lose the job. The queue uses pg-boss's `stately` policy with the
 * user id as singleton key: while one job per user waits, further changes to that user add none —
 * ten changes in a burst cost one sync.
 */
export class SyncQueue {
  private constructor(
    readonly boss: PgBoss,
    /** Retries after a job's first attempt before it goes to the dead letter queue. */
    readonly retryLimit: number,
  ) {}

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
    const queue = new SyncQueue(boss, settings.retryLimit);
    await queue.ensureQueues(settings, logger);
    await queue.adoptLegacyQueues(logger);
    return queue;
  }

  /**
   * Creates the dead letter queue and the sync queue, or brings the sync queue's retry and expiry
   * settings in line with this process's configuration (replicas must agree on them: docs/configuration.md).
   */
  private async ensureQueues(settings: QueueSettings, logger?: Logger): Promise<void> {
    const options = {
      retryLimit: settings.retryLimit,
      retryDelay: 2,
      retryBackoff: true,
      expireInSeconds: settings.expireInSeconds,
      deadLetter: DEAD_LETTER_QUEUE,
    };
    await this.createIfMissing(DEAD_LETTER_QUEUE, {});
    const existing = await this.createIfMissing(SYNC_QUEUE, { policy: 'stately', ...options });
    if (existing && (existing.retryLimit !== options.retryLimit || existing.expireInSeconds !== options.expireInSeconds || existing.deadLetter !== DEAD_LETTER_QUEUE)) {
      await this.boss.updateQueue(SYNC_QUEUE, options);
      logger?.info({ retryLimit: options.retryLimit, expireInSeconds: options.expireInSeconds }, 'job queue: sync queue settings updated to this configuration');
    }
  }

  /** Creates the queue unless it exists; returns the existing one (undefined when it was created here). */
  private async createIfMissing(name: string, options: Parameters<PgBoss['createQueue']>[1]) {
    const existing = await this.boss.getQueue(name);
    if (existing) return existing;
    try {
      await this.boss.createQueue(name, options);
    } catch (err) {
      // Another replica created it at the same moment.
      if (!(await this.boss.getQueue(name))) throw err;
    }
    return undefined;
  }

  /**
   * Moves the jobs still waiting in per-tenant queues of earlier versions into the sync queue and drops
   * those queues. Idempotent and safe with several replicas starting at once: the sync queue keeps one
   * waiting job per user, and a queue another replica dropped first is skipped.
   */
  private async adoptLegacyQueues(logger?: Logger): Promise<void> {
    const legacy = (await this.boss.getQueues()).map((q) => q.name).filter((name) => LEGACY_TENANT_QUEUE.test(name));
    for (const name of legacy) {
      const tenantId = name.slice('sync-'.length);
      const userIds: string[] = [];
      let after: string | undefined;
      for (;;) {
        let page;
        try {
          page = await this.boss.findJobs<SyncJobData>(name, { limit: 10_000, ...(after ? { after } : {}) });
        } catch (err) {
          if (!(await this.boss.getQueue(name))) break;
          throw err;
        }
        for (const job of page) if (['created', 'retry', 'active'].includes((job as { state?: string }).state ?? '') && job.data?.userId) userIds.push(job.data.userId);
        if (page.length < 10_000) break;
        after = page[page.length - 1]!.id;
      }
      await this.boss.insert(SYNC_QUEUE, userIds.map((userId) => this.jobFor(tenantId, userId)));
      await this.boss.deleteQueue(name);
      logger?.info({ tenantId, jobs: userIds.length }, 'job queue: per-tenant queue of an earlier version merged into the sync queue');
    }
  }

  private jobFor(tenantId: string, userId: string) {
    return { data: { tenantId, userId } satisfies SyncJobData, singletonKey: userId, group: { id: tenantId } };
  }

  /** Enqueues one sync per user, set-wise, in `db` (a transaction to make it atomic with the write). */
  async enqueue(db: Executor, tenantId: string, userIds: readonly string[]): Promise<void> {
    if (userIds.length === 0) return;
    const jobs = [...new Set(userIds)].map((userId) => this.jobFor(tenantId, userId));
    await this.boss.insert(SYNC_QUEUE, jobs, { db: onKysely(db) });
  }

  /**
   * Takes up to `limit` waiting jobs, never letting one tenant hold more than `perTenant` running jobs
   * across all replicas (pg-boss counts the group's active jobs in the same statement), and skipping
   * the tenants in `skipTenants`.
   */
  async fetch(limit: number, perTenant: number, skipTenants: readonly string[] = []): Promise<SyncJob[]> {
    const jobs = await this.boss.fetch<SyncJobData>(SYNC_QUEUE, {
      batchSize: limit,
      groupConcurrency: perTenant,
      ...(skipTenants.length > 0 ? { ignoreGroups: [...skipTenants] } : {}),
    });
    return jobs.map((j) => ({ id: j.id, retryCount: j.retryCount, data: j.data }));
  }

  /** The job is done (`failed`: done without success, not to be retried). Fenced to the fetched attempt. */
  async complete(job: SyncJob, output?: { failed: string }): Promise<void> {
    await this.boss.complete(SYNC_QUEUE, { id: job.id, retryCount: job.retryCount }, output);
  }

  /** The attempt failed: pg-boss retries it with backoff, then moves it to the dead letter queue. */
  async fail(job: SyncJob, message: string): Promise<void> {
    await this.boss.fail(SYNC_QUEUE, { id: job.id, retryCount: job.retryCount }, { message });
  }

  async stop(): Promise<void> {
    await this.boss.stop({ graceful: true, timeout: 10_000 });
  }
}
