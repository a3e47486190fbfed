import type { Kysely, Transaction } from 'kysely';
import type { PgBoss } from 'pg-boss';
import { markMirrorsPending } from '../db/okta.js';
import type { Database } from '../db/schema.js';
import { onKysely } from '../sync/queue.js';

/**
 * The Okta lane: its own queue on the job queue the Auth0 sync uses (pg-boss), so a slow Okta never delays
 * Auth0 work and the reverse. One job = "bring this directory user's Okta user up to date"; it reads the
 * latest state when it runs. `stately` with the user as singleton key coalesces a burst of changes into one
 * job per user; the tenant is the pg-boss group, so one tenant's import cannot take every slot.
 */
export const OKTA_QUEUE = 'okta';
export const OKTA_DEAD_LETTER_QUEUE = 'okta-dead-letter';

export interface OktaJobData {
  readonly tenantId: string;
  readonly userId: string;
}

export interface OktaJob {
  readonly id: string;
  readonly retryCount: number;
  readonly data: OktaJobData;
}

type Executor = Kysely<Database> | Transaction<Database>;

export interface OktaQueueSettings {
  readonly retryLimit: number;
  readonly expireInSeconds: number;
}

export class OktaQueue {
  private constructor(private readonly boss: PgBoss, readonly retryLimit: number) {}

  static async start(boss: PgBoss, settings: OktaQueueSettings): Promise<OktaQueue> {
    const options = { retryLimit: settings.retryLimit, retryDelay: 2, retryBackoff: true, expireInSeconds: settings.expireInSeconds, deadLetter: OKTA_DEAD_LETTER_QUEUE };
    await createIfMissing(boss, OKTA_DEAD_LETTER_QUEUE, {});
    const existing = await createIfMissing(boss, OKTA_QUEUE, { policy: 'stately', ...options });
    if (existing && (existing.retryLimit !== options.retryLimit || existing.expireInSeconds !== options.expireInSeconds)) await boss.updateQueue(OKTA_QUEUE, options);
    return new OktaQueue(boss, settings.retryLimit);
  }

  /** Marks the users' mirrors pending and queues one job per user, in `db` (the caller's transaction). */
  async enqueue(db: Executor, tenantId: string, userIds: readonly string[]): Promise<void> {
    if (userIds.length === 0) return;
    const unique = [...new Set(userIds)];
    await markMirrorsPending(db, tenantId, unique);
    await this.boss.insert(OKTA_QUEUE, unique.map((userId) => ({ data: { tenantId, userId } satisfies OktaJobData, singletonKey: userId, group: { id: tenantId } })), { db: onKysely(db) });
  }

  /** Up to `limit` jobs, never more than `perTenant` running for one tenant (over every replica). */
  async fetch(limit: number, perTenant: number): Promise<OktaJob[]> {
    const jobs = await this.boss.fetch<OktaJobData>(OKTA_QUEUE, { batchSize: limit, groupConcurrency: perTenant });
    return jobs.map((j) => ({ id: j.id, retryCount: j.retryCount, data: j.data }));
  }

  async complete(job: OktaJob, output?: { failed: string }): Promise<void> {
    await this.boss.complete(OKTA_QUEUE, { id: job.id, retryCount: job.retryCount }, output);
  }

  /** The attempt failed: pg-boss retries it with backoff, then moves it to the dead letter queue. */
  async fail(job: OktaJob, message: string): Promise<void> {
    await this.boss.fail(OKTA_QUEUE, { id: job.id, retryCount: job.retryCount }, { message });
  }
}

async function createIfMissing(boss: PgBoss, name: string, options: Parameters<PgBoss['createQueue']>[1]) {
  const existing = await boss.getQueue(name);
  if (existing) return existing;
  try {
    await boss.createQueue(name, options);
  } catch (err) {
    if (!(await boss.getQueue(name))) throw err;
  }
  return undefined;
}

/** The Okta lane on `boss` (the sync queue's pg-boss), with the sync's retry and expiry settings. */
export function startOktaQueue(boss: PgBoss, config: { sync: { retryLimit: number; jobExpireSeconds: number } }): Promise<OktaQueue> {
  return OktaQueue.start(boss, { retryLimit: config.sync.retryLimit, expireInSeconds: config.sync.jobExpireSeconds });
}
