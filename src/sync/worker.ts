import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Auth0PermanentError } from '../auth0/errors.js';
import type { Auth0Gateway } from '../auth0/gateway.js';
import { CallTrace } from './call-trace.js';
import { SyncConfigError } from './config.js';
import { isDatabaseUnavailable, OutageLog } from '../db/errors.js';
import type { Database } from '../db/schema.js';
import type { Metrics } from '../metrics.js';
import type { SecretBox } from '../secrets.js';
import { UserHistoryRecorder } from './history-recorder.js';
import { actionTypes } from './action-summary.js';
import { IdleWait } from './idle-wait.js';
import { MemberBatcher } from './member-batcher.js';
import type { Lease } from './lease.js';
import type { SyncJob, SyncQueue } from './queue.js';
import { syncUser, type UserSyncResult } from './sync-user.js';
import type { SyncAction } from './types.js';
import type { OktaQueue } from '../okta/queue.js';

export interface WorkerOptions {
  readonly db: Kysely<Database>;
  readonly queue: SyncQueue;
  readonly gateway: Auth0Gateway;
  readonly logger: Logger;
  /** Jobs this process runs at once, all tenants together (the rate budget paces their Auth0 calls). */
  readonly concurrency?: number;
  /** Jobs one tenant may have running at once, counted over every replica (pg-boss group concurrency). */
  readonly tenantConcurrency?: number;
  /** How often an idle worker looks for jobs; a finished job makes it look at once. */
  readonly pollMs?: number;
  readonly metrics?: Metrics;
  readonly secrets?: SecretBox;
  /**
   * With replicas: only the process holding this lease runs jobs, the others stand by. Auth0 meters its
   * Management API per Auth0 tenant, and replicas that each paced themselves against the whole bucket drew
   * 429s; one worker at a time spends the budget alone (and one worker can use all of it).
   */
  readonly lease?: Lease;
  /** Where each job run is recorded for the user's timeline; by default one of the worker's own over `db`. */
  readonly history?: UserHistoryRecorder;
  /** The Okta lane: users provisioned or deprovisioned here are queued for their Okta mirror. */
  readonly okta?: OktaQueue;
}

/** How a job run ended, as the user's history keeps it. */
interface RunOutcome {
  /** When it ended (before the queue heard of it), and how long it took. */
  readonly at: Date;
  readonly durationMs: number;
  readonly outcome: UserSyncResult['status'] | 'failed';
  readonly auth0UserId: string | null;
  readonly detail: string | null;
  /** A failed run: `queued` (pg-boss retries it), `dead-letter` (retries spent) or `none` (permanent: not retried). */
  readonly retry?: 'queued' | 'dead-letter' | 'none';
}

/** What a run changed, by action type (`addOrgRoles ×2`); ids and names stay in the user's explanation. */
function planSummary(actions: readonly SyncAction[]): string {
  return actions.length === 0 ? 'nothing to change' : `planned: ${actionTypes(actions)}`;
}

type State = 'created' | 'active' | 'stopping' | 'stopped';

/** What `/readyz` reports of the worker. */
export type SyncRole = 'running' | 'paused' | 'standby' | 'stopped';

/**
 * The sync worker: one polling loop over the one sync queue, whatever the number of tenants, so an idle
 * replica costs one statement per poll interval. Fairness comes from the fetch: a tenant never has more
 * than `tenantConcurrency` jobs running (over all replicas), so its 50,000-user import leaves the other
 * slots to other tenants' changes; tenants with nothing running are served first, and when the slots are
 * scarce, tenants already holding an even share are served last. Within Auth0 calls the rate budget
 * shares capacity round-robin between tenants. A small state machine: created → active → stopping →
 * stopped; `stop()` lets running jobs finish.
 */
export class SyncWorker {
  private state: State = 'created';
  private loop?: Promise<void>;
  private readonly batcher: MemberBatcher;
  private readonly concurrency: number;
  private readonly tenantConcurrency: number;
  /** Running jobs, and how many of them each tenant has (the even-share check of `fetch`). */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly runningByTenant = new Map<string, number>();
  /** A finished job or `stop()` ends the idle wait early. */
  private readonly waiter = new IdleWait();
  /** Set while the database is unreachable: the loop backs off and the log says so once, not per poll. */
  private pausedSince?: number;
  /** Another replica holds the sync lease: this worker takes no jobs. */
  private standby = false;
  private readonly outage = new OutageLog();
  /** Jobs finished since start, by outcome (for metrics and tests). */
  readonly counts = { completed: 0, failed: 0 };
  /** Each job run, for the user's timeline (tests `flush()` it before reading). */
  readonly history: UserHistoryRecorder;
  private readonly ownsHistory: boolean;

  constructor(private readonly options: WorkerOptions) {
    this.batcher = new MemberBatcher(options.gateway, (tenantId) => this.runningByTenant.get(tenantId) ?? 0);
    this.ownsHistory = options.history === undefined;
    this.history = options.history ?? new UserHistoryRecorder({ db: options.db, logger: options.logger, metrics: options.metrics });
    this.concurrency = options.concurrency ?? 50;
    this.tenantConcurrency = Math.min(options.tenantConcurrency ?? 10, this.concurrency);
  }

  start(): void {
    if (this.state !== 'created') return;
    this.state = 'active';
    this.loop = this.run();
  }

  get running(): boolean {
    return this.state === 'active';
  }

  /**
   * `running` (takes jobs), `paused` (its database is unreachable; it retries by itself), `standby`
   * (another replica holds the lease) or `stopped`.
   */
  get role(): SyncRole {
    if (this.state !== 'active') return 'stopped';
    if (this.pausedSince !== undefined) return 'paused';
    return this.standby ? 'standby' : 'running';
  }


  private async run(): Promise<void> {
    const poll = this.options.pollMs ?? 250;
    let failures = 0;
    while (this.state === 'active') {
      const free = this.concurrency - this.inFlight.size;
      if (free <= 0) {
        await this.idle(poll);
        continue;
      }
      let jobs: SyncJob[];
      try {
        const lease = this.options.lease;
        this.standby = lease !== undefined && !(await lease.held());
        if (lease && this.standby) {
          failures = 0;
          this.resume();
          await this.idle(lease.checkMs);
          continue;
        }
        jobs = await this.fetch(free);
      } catch (err) {
        // Paused while the database is unreachable: back off (0.5 s doubling to 5 s) and try again, so the
        // worker resumes by itself within seconds of the database coming back.
        if (isDatabaseUnavailable(err)) this.pause(err);
        else this.options.logger.warn({ err }, 'sync: fetching jobs failed; retrying');
        await this.idle(Math.min(5000, 500 * 2 ** Math.min(failures++, 4)));
        continue;
      }
      failures = 0;
      this.resume();
      for (const job of jobs) this.track(job);
      if (jobs.length === 0) await this.idle(poll);
    }
    await Promise.all(this.inFlight);
    if (this.ownsHistory) await this.history.close();
    await this.options.lease?.release();
  }

  /**
   * Up to `free` jobs, in three tiers. First the tenants with nothing running here: pg-boss hands out the
   * oldest jobs first, so while an importing tenant is one job below its cap, a plain fetch would fill the
   * free slots with its (older) jobs and a newer single change elsewhere would wait behind them; asking
   * for the other tenants first gives that change the next free slot. Then, when slots are scarce (fewer
   * than `tenantConcurrency` for each tenant running here plus one newcomer), the tenants below an even
   * share; then anyone. A tier is asked only while slots are left, so an idle worker issues one statement.
   */
  private async fetch(free: number): Promise<SyncJob[]> {
    const { queue } = this.options;
    const running = [...this.runningByTenant.keys()];
    if (running.length === 0) return queue.fetch(free, this.tenantConcurrency);
    const jobs = await queue.fetch(free, this.tenantConcurrency, running);
    const share = Math.max(1, Math.floor(this.concurrency / (this.runningByTenant.size + 1)));
    const atShare = share >= this.tenantConcurrency ? [] : running.filter((tenant) => this.runningByTenant.get(tenant)! >= share);
    if (jobs.length < free && atShare.length > 0 && atShare.length < running.length) {
      jobs.push(...(await queue.fetch(free - jobs.length, this.tenantConcurrency, atShare)));
    }
    if (jobs.length < free) jobs.push(...(await queue.fetch(free - jobs.length, this.tenantConcurrency)));
    return jobs;
  }

  private track(job: SyncJob): void {
    const tenantId = job.data.tenantId;
    this.runningByTenant.set(tenantId, (this.runningByTenant.get(tenantId) ?? 0) + 1);
    const running: Promise<void> = this.runJob(job).finally(() => {
      this.inFlight.delete(running);
      const left = (this.runningByTenant.get(tenantId) ?? 1) - 1;
      if (left > 0) this.runningByTenant.set(tenantId, left);
      else this.runningByTenant.delete(tenantId);
      this.wakeUp();
    });
    this.inFlight.add(running);
  }

  private async runJob(job: SyncJob): Promise<void> {
    const { queue, logger } = this.options;
    const { tenantId, userId } = job.data;
    const trace = new CallTrace();
    const ended = () => ({ at: new Date(), durationMs: Math.round(trace.elapsedMs()) });
    // Undefined until the run ends; null when there is nothing to record. A run is recorded as soon as
    // its outcome is known, before its job is marked done: whoever sees the job done (an operator's
    // `provisio status`, a test that waits for the queue) and then reads the timeline finds the run in it.
    let run: RunOutcome | null | undefined;
    try {
      const result = await syncUser(
        {
          db: this.options.db,
          gateway: this.options.gateway.observed(trace.observer),
          addMember: (t, o, u) => this.batcher.add(t, o, u, trace),
          ...(this.options.secrets ? { secrets: this.options.secrets } : {}),
          ...(this.options.okta ? { okta: this.options.okta } : {}),
        },
        tenantId,
        userId,
      );
      // An erased user's records are gone, and a user that never existed has no timeline to show a run in.
      if (result.forgotten || result.status === 'gone') {
        run = null;
        if (result.forgotten) this.history.forget(tenantId, userId);
      } else {
        const detail = result.status === 'held' ? (result.reason ?? null) : planSummary(result.actions);
        run = { ...ended(), outcome: result.status, auth0UserId: result.auth0UserId, detail };
        this.recordRun(job, trace, run);
      }
      // A change made while this job ran may have been folded into it (one waiting job per user) before
      // this run had read it: queue the user again, or nothing would apply it.
      if (result.changedMeanwhile) await queue.enqueue(this.options.db, tenantId, [userId]);
      await queue.complete(job);
      this.counts.completed++;
      this.options.metrics?.syncJobs.inc({ tenant: tenantId, outcome: result.status });
      if (result.changedAt && (result.status === 'synced' || result.status === 'deleted')) {
        this.options.metrics?.syncLag.observe((Date.now() - result.changedAt.getTime()) / 1000);
      }
      logger.debug({ tenantId, userId, status: result.status, calls: result.actions.length }, 'sync: user synced');
    } catch (err) {
      this.counts.failed++;
      this.options.metrics?.syncJobs.inc({ tenant: tenantId, outcome: 'failed' });
      const message = err instanceof Error ? err.message : String(err);
      const permanent = err instanceof Auth0PermanentError || err instanceof SyncConfigError;
      // A run that synced and then could not be marked complete keeps its outcome.
      if (run === undefined) {
        run = { ...ended(), outcome: 'failed', auth0UserId: null, detail: message, retry: permanent ? 'none' : job.retryCount < queue.retryLimit ? 'queued' : 'dead-letter' };
        this.recordRun(job, trace, run);
      }
      if (permanent) {
        // Retrying cannot help (unknown role, missing scope, bad binding): the job ends here and the user
        // stays `failed` with this error in `provisio status` and the metrics, until the next change or
        // a reconcile brings it back. Transient failures go to pg-boss's retries and dead letter instead.
        logger.warn({ tenantId, userId, err: message }, 'sync: user failed permanently; not retried');
        await queue.complete(job, { failed: message }).catch(() => undefined);
        return;
      }
      if (isDatabaseUnavailable(err)) this.pause(err);
      else logger.warn({ tenantId, userId, err: message, attempt: job.retryCount }, 'sync: job failed; pg-boss retries it with backoff');
      await queue.fail(job, message).catch(() => undefined);
    }
  }

  /** Hands the run to the history recorder: synchronous, and it never throws. */
  private recordRun(job: SyncJob, trace: CallTrace, run: RunOutcome): void {
    const { calls, omitted } = trace.seal();
    this.history.record({
      tenantId: job.data.tenantId,
      userId: job.data.userId,
      auth0UserId: run.auth0UserId,
      kind: 'sync',
      at: run.at,
      outcome: run.outcome,
      detail: run.detail,
      durationMs: run.durationMs,
      attempt: job.retryCount + 1,
      facts: run.retry ? { retry: run.retry } : null,
      calls,
      callsOmitted: omitted,
    });
  }

  private idle(ms: number): Promise<void> {
    return this.waiter.idle(ms);
  }

  private wakeUp(): void {
    this.waiter.wakeUp();
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
    this.wakeUp();
    await this.loop;
    this.state = 'stopped';
  }
}
