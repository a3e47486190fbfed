import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { Database } from '../db/schema.js';
import {
  failPendingDeliveries, findWebhookEndpoint, markAttemptFailed, markDelivered, nextPendingDeliveries, updateWebhookEndpoint,
  type DeliveryWithEvent, type WebhookEndpointRow,
} from '../db/webhooks.js';
import type { Metrics } from '../metrics.js';
import type { SecretBox } from '../secrets.js';
import { activeSecrets } from './endpoints.js';
import type { WebhookJob, WebhookQueue } from './queue.js';
import type { WebhookSender } from './webhook-sender.js';

export interface DeliverySettings {
  /** Jobs (subjects) delivered at once by this process. */
  readonly concurrency: number;
  /** Requests in flight to one endpoint from this process. */
  readonly perEndpoint: number;
  /** Idle poll of the queue. */
  readonly pollMs: number;
  /** The wait after a first failed attempt; each further one waits about 6 times longer, up to `maxRetryDelayMs`. */
  readonly firstRetryDelayMs: number;
  readonly maxRetryDelayMs: number;
  /** A delivery still failing this long after its event is given up (listed as failed, redeliverable). */
  readonly retryPeriodMs: number;
  /** An endpoint with no successful attempt for this long is disabled. */
  readonly disableAfterMs: number;
}

export interface DeliveryWorkerOptions {
  readonly db: Kysely<Database>;
  readonly queue: WebhookQueue;
  readonly sender: WebhookSender;
  readonly box: SecretBox;
  readonly logger: Logger;
  readonly settings: DeliverySettings;
  readonly metrics?: Metrics;
}

/** Pending deliveries of a subject read at once. */
const PENDING_BATCH = 10;
/** How long an endpoint read by a job is reused (its URL, secrets and state); changes apply within this. */
const ENDPOINT_CACHE_MS = 1000;

/** How long one job keeps delivering before it yields to other subjects (it queues itself again). */
const JOB_SLICE_MS = 15_000;

/** The wait before attempt `attempt + 1` (`attempt` ≥ 1 failed ones), with ±20 % jitter so retries of many deliveries spread. */
export function retryDelayMs(attempt: number, settings: Pick<DeliverySettings, 'firstRetryDelayMs' | 'maxRetryDelayMs'>, random = Math.random): number {
  const base = Math.min(settings.maxRetryDelayMs, settings.firstRetryDelayMs * 6 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * The webhook lane's worker: one polling loop over the webhook queue. A job delivers one endpoint's
 * pending deliveries about one subject in sequence order and stops at the first that must wait (a
 * failed attempt's backoff or the receiver's `Retry-After`), queueing itself for that moment: later
 * events about that user wait behind it, so the receiver sees them in order. A delivery given up (the
 * retry period ended, or the receiver refused it for good with a 4xx) no longer holds the others back.
 */
export class DeliveryWorker {
  private stopped = true;
  private loop?: Promise<void>;
  /** Fetched jobs, running or waiting for their endpoint's turn. */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly lanes = new Map<string, { running: number; waiting: (() => void)[] }>();
  private wake?: () => void;
  private woken = false;
  readonly counts = { delivered: 0, retried: 0, failed: 0 };
  private readonly endpoints = new Map<string, { row: WebhookEndpointRow | undefined; until: number }>();

  constructor(private readonly options: DeliveryWorkerOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** New deliveries were queued (by this process's sequencer): fetch now rather than at the next poll. */
  nudge(): void {
    this.woken = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async idle(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
    this.woken = false;
  }

  private async run(): Promise<void> {
    const { settings, logger } = this.options;
    let failures = 0;
    while (!this.stopped) {
      const free = settings.concurrency - this.inFlight.size;
      if (free <= 0) {
        await this.idle(settings.pollMs);
        continue;
      }
      let jobs: WebhookJob[];
      try {
        jobs = await this.options.queue.fetch(free);
        failures = 0;
      } catch (err) {
        if (!isDatabaseUnavailable(err)) logger.warn({ err }, 'webhooks: fetching jobs failed; retrying');
        await this.idle(Math.min(5000, 500 * 2 ** Math.min(failures++, 4)));
        continue;
      }
      for (const job of jobs) {
        const running: Promise<void> = this.runJob(job).finally(() => {
          this.inFlight.delete(running);
          this.nudge();
        });
        this.inFlight.add(running);
      }
      if (jobs.length === 0) await this.idle(settings.pollMs);
    }
    await Promise.all(this.inFlight);
  }

  /**
   * A turn to send to `endpointId`: at most `perEndpoint` of this process's jobs deliver to one endpoint at
   * once; the others wait here, first come first served. (Counted per process: pg-boss's group concurrency
   * would count over all replicas, but its fetch grew costly with a deep queue and halved the delivery rate
   * of an import.)
   */
  private async endpointTurn(endpointId: string): Promise<() => void> {
    let lane = this.lanes.get(endpointId);
    if (!lane) {
      lane = { running: 0, waiting: [] };
      this.lanes.set(endpointId, lane);
    }
    const current = lane;
    if (current.running < this.options.settings.perEndpoint) current.running++;
    else await new Promise<void>((resolve) => current.waiting.push(resolve));
    return () => {
      const next = current.waiting.shift();
      if (next) next();
      else if (--current.running === 0) this.lanes.delete(endpointId);
    };
  }

  private async runJob(job: WebhookJob): Promise<void> {
    const done = await this.endpointTurn(job.data.endpointId);
    try {
      await this.deliver(job);
      await this.options.queue.complete(job);
    } catch (err) {
      // The database failed us mid-job: pg-boss runs the job again; a delivery recorded as sent stays sent.
      this.options.logger.warn({ err, endpoint: job.data.endpointId }, 'webhooks: delivery job failed; retried by the queue');
      await this.options.queue.fail(job, err instanceof Error ? err.message : String(err)).catch(() => undefined);
    } finally {
      done();
    }
  }

  private async deliver(job: WebhookJob): Promise<void> {
    const { db, queue, sender, box, settings, metrics, logger } = this.options;
    const { endpointId, tenantId, subject } = job.data;
    let endpoint = await this.endpoint(endpointId);
    // The cached row may be up to a second old: an endpoint enabled again and redelivered within that second
    // is read afresh before its deliveries are given up.
    if (endpoint && !endpoint.enabled) endpoint = await this.endpoint(endpointId, { fresh: true });
    if (!endpoint) return; // Deleted: its deliveries went with it.
    if (!endpoint.enabled) {
      await failPendingDeliveries(db, endpointId, `endpoint disabled: ${endpoint.disabled_reason ?? 'by an operator'}`);
      return;
    }
    const secrets = activeSecrets(endpoint.secrets, box);
    const sliceEnds = Date.now() + JOB_SLICE_MS;
    // Read a few at a time: the subject's deliveries are taken in order, and only this job takes them.
    // A short read holds all that was pending: a delivery made since then came with a job of its own (the
    // queue keeps one waiting beside this running one), so the job can end without reading again.
    let batch: DeliveryWithEvent[] = [];
    let complete = false;
    for (;;) {
      if (batch.length === 0) {
        if (complete) return;
        batch = await nextPendingDeliveries(db, endpointId, tenantId, subject, PENDING_BATCH);
        complete = batch.length < PENDING_BATCH;
      }
      const delivery = batch.shift();
      if (!delivery) return;
      if (delivery.nextAttemptAt.getTime() > Date.now() + 20 || Date.now() > sliceEnds) {
        await queue.enqueue(db, [job.data], new Date(Math.max(Date.now(), delivery.nextAttemptAt.getTime())));
        return;
      }
      if (!delivery.event) {
        await markAttemptFailed(db, delivery, { status: null, error: 'the event was pruned (past EVENT_RETENTION_DAYS) before it could be delivered', retryAt: null });
        continue;
      }
      const result = await sender.send(endpoint.url, secrets, { id: delivery.event.id, timestamp: new Date(), body: JSON.stringify(delivery.event) });
      if (result.delivered) {
        await markDelivered(db, delivery, result.status ?? 200);
        this.counts.delivered++;
        metrics?.webhookAttempts.inc({ endpoint: endpointId, outcome: 'delivered' });
        metrics?.webhookLatency.observe({ endpoint: endpointId }, Math.max(0, Date.now() - Date.parse(delivery.event.timestamp)) / 1000);
        continue;
      }
      const attempt = delivery.attempts + 1;
      const giveUpAt = delivery.createdAt.getTime() + settings.retryPeriodMs;
      const wanted = result.retryable ? Date.now() + Math.max(retryDelayMs(attempt, settings), result.retryAfterMs ?? 0) : undefined;
      const retryAt = wanted !== undefined && wanted <= giveUpAt ? new Date(wanted) : null;
      const error = result.error ?? `answered ${result.status}`;
      const { failingSince } = await markAttemptFailed(db, delivery, { status: result.status ?? null, error, retryAt });
      metrics?.webhookAttempts.inc({ endpoint: endpointId, outcome: retryAt ? 'retry' : 'failed' });
      if (retryAt) this.counts.retried++;
      else this.counts.failed++;
      logger.info({ endpoint: endpointId, event: delivery.event.id, attempt, status: result.status, error, retryAt }, retryAt ? 'webhooks: attempt failed; retried later' : 'webhooks: delivery given up');
      if (failingSince && Date.now() - failingSince.getTime() > settings.disableAfterMs) {
        await this.disable(endpoint, failingSince, error);
        return;
      }
      if (retryAt) {
        await queue.enqueue(db, [job.data], retryAt);
        return;
      }
    }
  }

  /** The endpoint, read at most once a second per endpoint by this process (every job of an import needs it), unless `fresh`. */
  private async endpoint(id: string, { fresh = false } = {}): Promise<WebhookEndpointRow | undefined> {
    const cached = this.endpoints.get(id);
    if (cached && cached.until > Date.now() && !fresh) return cached.row;
    const row = await findWebhookEndpoint(this.options.db, id);
    if (this.endpoints.size > 10_000) this.endpoints.clear();
    this.endpoints.set(id, { row, until: Date.now() + ENDPOINT_CACHE_MS });
    return row;
  }

  private async disable(endpoint: WebhookEndpointRow, failingSince: Date, lastError: string): Promise<void> {
    const reason = `no successful delivery since ${failingSince.toISOString()} (last attempt: ${lastError.slice(0, 200)})`;
    await updateWebhookEndpoint(this.options.db, endpoint.id, { enabled: false, disabledReason: reason });
    this.endpoints.delete(endpoint.id);
    const given = await failPendingDeliveries(this.options.db, endpoint.id, `endpoint disabled: ${reason}`);
    this.options.logger.warn({ endpoint: endpoint.id, url: endpoint.url, failedDeliveries: given }, `webhooks: endpoint disabled: ${reason}`);
  }
}
