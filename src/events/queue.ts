import type { Kysely, Transaction } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { Database } from '../db/schema.js';
import { onKysely } from '../sync/queue.js';

/**
 * The webhook lane: its own queue on the job queue the sync uses (pg-boss), so a slow receiver never
 * delays the Auth0 sync and the reverse. One job = "deliver what this endpoint is owed about this subject,
 * in sequence order"; the deliveries themselves are rows (src/db/webhooks.ts). The `stately` policy with
 * the endpoint, tenant and subject as singleton key keeps at most one job waiting and one running per
 * subject, which is what keeps a user's events in order. The worker bounds the requests to one endpoint
 * (src/events/delivery-worker.ts).
 */
export const WEBHOOK_QUEUE = 'webhooks';

export interface WebhookJobData {
  readonly endpointId: string;
  readonly tenantId: string;
  readonly subject: string;
}

export interface WebhookJob {
  readonly id: string;
  readonly retryCount: number;
  readonly data: WebhookJobData;
}

type Executor = Kysely<Database> | Transaction<Database>;

export class WebhookQueue {
  private constructor(private readonly boss: PgBoss) {}

  /** `expireInSeconds`: a job running longer (its process was killed) is handed out again. */
  static async start(boss: PgBoss, expireInSeconds: number): Promise<WebhookQueue> {
    const options = { policy: 'stately' as const, retryLimit: 3, retryDelay: 1, retryBackoff: true, expireInSeconds };
    const existing = await boss.getQueue(WEBHOOK_QUEUE);
    if (!existing) {
      try {
        await boss.createQueue(WEBHOOK_QUEUE, options);
      } catch (err) {
        // Another replica created it at the same moment.
        if (!(await boss.getQueue(WEBHOOK_QUEUE))) throw err;
      }
    } else if (existing.expireInSeconds !== expireInSeconds) {
      await boss.updateQueue(WEBHOOK_QUEUE, { retryLimit: 3, retryDelay: 1, retryBackoff: true, expireInSeconds });
    }
    return new WebhookQueue(boss);
  }

  private jobFor(data: WebhookJobData, startAfter?: Date) {
    return {
      data,
      singletonKey: `${data.endpointId}/${data.tenantId}/${data.subject}`,
      ...(startAfter ? { startAfter } : {}),
    };
  }

  /** Queues a job per (endpoint, tenant, subject) in `db` (the sequencer's transaction); one already waiting absorbs it. */
  async enqueue(db: Executor, jobs: readonly WebhookJobData[], startAfter?: Date): Promise<void> {
    if (jobs.length === 0) return;
    await this.boss.insert(WEBHOOK_QUEUE, jobs.map((j) => this.jobFor(j, startAfter)), { db: onKysely(db) });
  }

  async fetch(limit: number): Promise<WebhookJob[]> {
    const jobs = await this.boss.fetch<WebhookJobData>(WEBHOOK_QUEUE, { batchSize: limit });
    return jobs.map((j) => ({ id: j.id, retryCount: j.retryCount, data: j.data }));
  }

  async complete(job: WebhookJob): Promise<void> {
    await this.boss.complete(WEBHOOK_QUEUE, { id: job.id, retryCount: job.retryCount });
  }

  /** The job itself failed (its database calls did): pg-boss runs it again with backoff. */
  async fail(job: WebhookJob, message: string): Promise<void> {
    await this.boss.fail(WEBHOOK_QUEUE, { id: job.id, retryCount: job.retryCount }, { message });
  }
}
