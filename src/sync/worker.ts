import { setTimeout as delay } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Auth0PermanentError } from '../auth0/errors.js';
import type { Auth0Gateway } from '../auth0/gateway.js';
import { SyncConfigError } from './config.js';
import { isDatabaseUnavailable, OutageLog } from '../db/errors.js';
import type { Database } from '../db/schema.js';
import type { Metrics } from '../metrics.js';
import type { SecretBox } from '../secrets.js';
import { boundTenantIds } from '../db/sync.js';
import { MemberBatcher } from './member-batcher.js';
import type { SyncJobData, SyncQueue } from './queue.js';
import { syncUser } from './sync-user.js';

export interface WorkerOptions {
  readonly db: Kysely<Database>;
  readonly queue: SyncQueue;
  readonly gateway: Auth0Gateway;
  readonly logger: Logger;
  /** Jobs one tenant's loop takes at a time (they run concurrently; the rate budget paces them). */
  readonly batchSize?: number;
  readonly pollMs?: number;
  readonly metrics?: Metrics;
  readonly secrets?: SecretBox;
}

type State = 'created' | 'active' | 'stopping' | 'stopped';

/**
 * The sync worker: one polling loop per bound tenant over that tenant's queue, so a tenant's 50,000-user
 * import never stands in front of another tenant's single change; within Auth0 calls the rate budget
 * shares capacity round-robin between tenants. A small state machine: created → active → stopping →
 * stopped; `stop()` lets running jobs finish.
 */
export class SyncWorker {
  private state: State = 'created';
  private readonly loops = new Map<string, Promise<void>>();
  private readonly batcher: MemberBatcher;
  private discovery?: Promise<void>;
  /** Set while the database is unreachable: the loops back off and the log says so once, not per poll. */
  private pausedSince?: number;
  private readonly outage = new OutageLog();
  /** Jobs finished since start, by outcome (for metrics and tests). */
  readonly counts = { completed: 0, failed: 0 };

  constructor(private readonly options: WorkerOptions) {
    this.batcher = new MemberBatcher(options.gateway);
  }

  start(): void {
    if (this.state !== 'created') return;
    this.state = 'active';
    this.discovery = this.discoverTenants();
  }

  get running(): boolean {
    return this.state === 'active';
  }

  /** Starts a loop for every bound tenant, and keeps looking for newly bound ones. */
  private async discoverTenants(): Promise<void> {
    while (this.state === 'active') {
      try {
        for (const tenantId of await boundTenantIds(this.options.db)) {
          if (!this.loops.has(tenantId)) {
            await this.options.queue.ensureTenantQueue(tenantId);
            this.loops.set(tenantId, this.tenantLoop(tenantId));
          }
        }
      } catch (err) {
        if (isDatabaseUnavailable(err)) this.outage.report(this.options.logger, err, 'the sync worker pauses and retries');
        else this.options.logger.warn({ err }, 'sync: tenant discovery failed; retrying');
      }
      await delay(2000);
    }
  }

  private async tenantLoop(tenantId: string): Promise<void> {
    const { queue, logger } = this.options;
    const name = await queue.ensureTenantQueue(tenantId);
    const poll = this.options.pollMs ?? 250;
    let failures = 0;
    while (this.state === 'active') {
      let jobs;
      try {
        jobs = await queue.boss.fetch<SyncJobData>(name, { batchSize: this.options.batchSize ?? 10 });
      } catch (err) {
        // Paused while the database is unreachable: back off (0.5 s doubling to 5 s) and try again, so the
        // worker resumes by itself within seconds of the database coming back.
        if (isDatabaseUnavailable(err)) this.pause(err);
        else logger.warn({ err, tenantId }, 'sync: fetching jobs failed; retrying');
        await delay(Math.min(5000, 500 * 2 ** Math.min(failures++, 4)));
        continue;
      }
      failures = 0;
      this.resume();
      if (jobs.length === 0) {
        await delay(poll);
        continue;
      }
      await Promise.all(jobs.map(async (job) => {
        try {
          const result = await syncUser(
            {
              db: this.options.db,
              gateway: this.options.gateway,
              addMember: (t, o, u) => this.batcher.add(t, o, u),
              ...(this.options.secrets ? { secrets: this.options.secrets } : {}),
            },
            job.data.tenantId,
            job.data.userId,
          );
          await queue.boss.complete(name, job.id);
          this.counts.completed++;
          this.options.metrics?.syncJobs.inc({ tenant: tenantId, outcome: result.status });
          if (result.changedAt && (result.status === 'synced' || result.status === 'deleted')) {
            this.options.metrics?.syncLag.observe({ tenant: tenantId }, (Date.now() - result.changedAt.getTime()) / 1000);
          }
          logger.debug({ tenantId, userId: job.data.userId, status: result.status, calls: result.actions.length }, 'sync: user synced');
        } catch (err) {
          this.counts.failed++;
          this.options.metrics?.syncJobs.inc({ tenant: tenantId, outcome: 'failed' });
          const message = err instanceof Error ? err.message : String(err);
          if (err instanceof Auth0PermanentError || err instanceof SyncConfigError) {
            // Retrying cannot help (unknown role, missing scope, bad binding): the job ends here and the user
            // stays `failed` with this error in `provisio status` and the metrics, until the next change or
            // a reconcile brings it back. Transient failures go to pg-boss's retries and dead letter instead.
            logger.warn({ tenantId, userId: job.data.userId, err: message }, 'sync: user failed permanently; not retried');
            await queue.boss.complete(name, job.id, { failed: message }).catch(() => undefined);
            return;
          }
          if (isDatabaseUnavailable(err)) this.pause(err);
          else logger.warn({ tenantId, userId: job.data.userId, err: message, attempt: job.retryCount }, 'sync: job failed; pg-boss retries it with backoff');
          await queue.boss.fail(name, job.id, { message }).catch(() => undefined);
        }
      }));
    }
  }

  /** The database is unreachable: say so once (then once per interval), not per tenant loop and poll. */
  private pause(err: unknown): void {
    this.pausedSince ??= Date.now();
    this.outage.report(this.options.logger, err, 'the sync worker pauses and retries (a job cut short is retried once it expires)');
  }

  private resume(): void {
    if (this.pausedSince === undefined) return;
    this.options.logger.info({ pausedSeconds: Math.round((Date.now() - this.pausedSince) / 1000) }, 'sync: database reachable again; the worker resumed');
    this.pausedSince = undefined;
  }

  /** Stops fetching, lets in-flight jobs finish. */
  async stop(): Promise<void> {
    if (this.state !== 'active') return;
    this.state = 'stopping';
    await this.discovery;
    await Promise.all(this.loops.values());
    this.state = 'stopped';
  }
}
