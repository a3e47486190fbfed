/**
 * The Okta lane's worker: one polling loop over the `okta` queue, beside (never inside) the Auth0 sync
 * worker, so a slow or rate-limited Okta never delays Auth0 work and the reverse. It runs on the replica
 * holding the sync lease (one process spends each Okta org's rate budget), at most `concurrency` jobs at
 * once and `tenantConcurrency` per tenant over every replica (pg-boss group concurrency).
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { Database } from '../db/schema.js';
import { Auth0PermanentError } from '../auth0/errors.js';
import { SyncConfigError } from '../sync/config.js';
import { actionTypes } from '../sync/action-summary.js';
import { CallTrace } from '../sync/call-trace.js';
import type { UserHistoryRecorder } from '../sync/history-recorder.js';
import { IdleWait } from '../sync/idle-wait.js';
import type { Lease } from '../sync/lease.js';
import { OktaPermanentError } from './errors.js';
import { loadOktaBinding } from './mirror-config.js';
import type { MirrorResult } from './mirror-user.js';
import { OktaMappingError } from './planner.js';
import type { OktaJob, OktaQueue } from './queue.js';
import { recordMirrorOutcome } from '../db/okta.js';

export interface OktaWorkerOptions {
  readonly db: Kysely<Database>;
  readonly queue: OktaQueue;
  readonly logger: Logger;
  /** Runs one user's mirror, its calls noted in `trace` (src/okta/runtime.ts binds the tenant's Okta org and the Auth0 gateway). */
  readonly mirror: (tenantId: string, userId: string, trace: CallTrace) => Promise<MirrorResult>;
  /** Where each run is recorded for the user's timeline (kind `okta`), beside the Auth0 sync's runs. */
  readonly history?: UserHistoryRecorder;
  readonly concurrency: number;
  readonly tenantConcurrency: number;
  readonly pollMs?: number;
  readonly lease?: Lease;
  /** Called with each finished job's outcome (metrics). */
  readonly onJob?: (tenantId: string, outcome: string) => void;
  /**
   * Whether any tenant binds Okta. While none does, the worker looks only every `unboundPollMs` (default
   * 5 s) instead of polling the queue every `pollMs`: a deployment without Okta pays one small statement
   * per 5 s for the lane, not four a second.
   */
  readonly anyBinding?: () => Promise<boolean>;
  readonly unboundPollMs?: number;
}

/** Errors retrying cannot fix: the job ends, the user stays `failed` with the message until a change or a retry. */
export function isPermanentMirrorError(err: unknown): boolean {
  return err instanceof OktaPermanentError || err instanceof OktaMappingError || err instanceof SyncConfigError || err instanceof Auth0PermanentError;
}

/** What a run did, by action type (`addToGroup ×2`), as the Auth0 sync's runs say it. */
function planSummary(result: MirrorResult): string {
  return result.actions.length === 0 ? `nothing to change — ${result.reason}` : `done: ${actionTypes(result.actions)} — ${result.reason}`;
}

export class OktaMirrorWorker {
  private state: 'created' | 'active' | 'stopping' | 'stopped' = 'created';
  private loop?: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly waiter = new IdleWait();
  readonly counts = { completed: 0, failed: 0 };

  constructor(private readonly options: OktaWorkerOptions) {}

  start(): void {
    if (this.state !== 'created') return;
    this.state = 'active';
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const poll = this.options.pollMs ?? 250;
    let failures = 0;
    while (this.state === 'active') {
      const free = this.options.concurrency - this.inFlight.size;
      if (free <= 0) {
        await this.idle(poll);
        continue;
      }
      try {
        const lease = this.options.lease;
        if (lease && !(await lease.held())) {
          await this.idle(lease.checkMs);
          continue;
        }
        if (this.inFlight.size === 0 && this.options.anyBinding && !(await this.options.anyBinding())) {
          await this.idle(this.options.unboundPollMs ?? 5000);
          continue;
        }
        const jobs = await this.options.queue.fetch(free, this.options.tenantConcurrency);
        failures = 0;
        for (const job of jobs) this.track(job);
        if (jobs.length === 0) await this.idle(poll);
      } catch (err) {
        // The Auth0 sync worker of this process already warns of a database outage (once per interval);
        // the mirror pauses and resumes with it, quietly.
        if (isDatabaseUnavailable(err)) this.options.logger.debug({ err }, 'okta mirror: database unavailable; retrying');
        else this.options.logger.warn({ err }, 'okta mirror: fetching jobs failed; retrying');
        await this.idle(Math.min(5000, 500 * 2 ** Math.min(failures++, 4)));
      }
    }
    await Promise.all(this.inFlight);
  }

  private track(job: OktaJob): void {
    const running: Promise<void> = this.runJob(job).finally(() => {
      this.inFlight.delete(running);
      this.wakeUp();
    });
    this.inFlight.add(running);
  }

  private async runJob(job: OktaJob): Promise<void> {
    const { queue, logger, db } = this.options;
    const { tenantId, userId } = job.data;
    const trace = new CallTrace();
    try {
      const result = await this.options.mirror(tenantId, userId, trace);
      // Runs that touched no Okta user of this directory user (unbound, not provisioned) are not its history.
      if (result.status !== 'none' && result.status !== 'unbound') this.recordRun(job, trace, result.status, planSummary(result), result.oktaUserId);
      if (result.changedMeanwhile) await queue.enqueue(db, tenantId, [userId]);
      await queue.complete(job);
      this.counts.completed++;
      this.options.onJob?.(tenantId, result.status);
      logger.debug({ tenantId, userId, status: result.status, calls: result.actions.length }, 'okta mirror: user mirrored');
    } catch (err) {
      this.counts.failed++;
      this.options.onJob?.(tenantId, 'failed');
      const message = err instanceof Error ? err.message : String(err);
      const permanent = isPermanentMirrorError(err);
      const last = permanent || job.retryCount >= queue.retryLimit;
      this.recordRun(job, trace, 'failed', message, null, permanent ? 'none' : last ? 'dead-letter' : 'queued');
      // The user shows `failed` with the error once retrying ends; meanwhile it stays pending.
      if (last) {
        await recordMirrorOutcome(db, tenantId, userId, null, { status: 'failed', error: message })
          .catch((recordErr: unknown) => logger.warn({ tenantId, userId, err: recordErr }, 'okta mirror: the failure could not be recorded'));
      }
      if (permanent) {
        logger.warn({ tenantId, userId, err: message }, 'okta mirror: user failed permanently; not retried');
        await queue.complete(job, { failed: message }).catch(() => undefined);
        return;
      }
      if (isDatabaseUnavailable(err)) logger.debug({ tenantId, userId, err: message }, 'okta mirror: database unavailable; the job is retried');
      else logger.warn({ tenantId, userId, err: message, attempt: job.retryCount }, 'okta mirror: job failed; retried with backoff');
      await queue.fail(job, message).catch(() => undefined);
    }
  }

  /** Hands the run to the history recorder (synchronous; it never throws). */
  private recordRun(job: OktaJob, trace: CallTrace, outcome: string, detail: string, oktaUserId: string | null, retry?: 'queued' | 'dead-letter' | 'none'): void {
    if (!this.options.history) return;
    const durationMs = Math.round(trace.elapsedMs());
    const { calls, omitted } = trace.seal();
    this.options.history.record({
      tenantId: job.data.tenantId, userId: job.data.userId, auth0UserId: null, kind: 'okta', at: new Date(), outcome, detail, durationMs,
      attempt: job.retryCount + 1, facts: { ...(oktaUserId ? { oktaUserId } : {}), ...(retry ? { retry } : {}) }, calls, callsOmitted: omitted,
    });
  }

  private idle(ms: number): Promise<void> {
    return this.waiter.idle(ms);
  }

  private wakeUp(): void {
    this.waiter.wakeUp();
  }

  async stop(): Promise<void> {
    if (this.state !== 'active') return;
    this.state = 'stopping';
    this.wakeUp();
    await this.loop;
    this.state = 'stopped';
  }
}

