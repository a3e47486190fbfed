import type { Kysely } from 'kysely';
import type pg from 'pg';
import { PgBoss } from 'pg-boss';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { isDatabaseUnavailable, OutageLog } from '../db/errors.js';
import { pruneEvents } from '../db/events.js';
import type { Database } from '../db/schema.js';
import { overdueDeliveryGroups, pruneDeliveries } from '../db/webhooks.js';
import type { Metrics } from '../metrics.js';
import type { SecretBox } from '../secrets.js';
import { onPool } from '../sync/queue.js';
import { DeliveryWorker } from './delivery-worker.js';
import { WebhookQueue } from './queue.js';
import { hasUnsequencedEvents, sequenceEvents } from './sequencer.js';
import { WebhookSender } from './webhook-sender.js';

export interface EventsRuntimeOptions {
  readonly config: Config;
  /** The background connections (the sync's pool): longer statement timeout than requests'. */
  readonly db: Kysely<Database>;
  readonly pool: pg.Pool;
  readonly logger: Logger;
  /** The sync's job queue, when it runs: the webhook lane is a queue beside its own. */
  readonly boss?: PgBoss;
  readonly box?: SecretBox;
  readonly metrics?: Metrics;
}

const ROUND = 1000;
const PRUNE_EVERY_MS = 3_600_000;
/** How often, and after how long a wait, pending deliveries without a job are queued again. */
const SWEEP_EVERY_MS = 30_000;
const OVERDUE_SECONDS = 60;

/**
 * Events out in a running server: the sequencer (numbers the outbox, fans events out to endpoints), the
 * delivery worker, and the hourly pruning of events and settled deliveries past EVENT_RETENTION_DAYS.
 */
export class EventsRuntime {
  private stopped = false;
  private loop?: Promise<void>;
  private pruneTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private wake?: () => void;
  private readonly outage = new OutageLog();

  private constructor(
    private readonly options: EventsRuntimeOptions,
    readonly queue: WebhookQueue,
    readonly worker: DeliveryWorker | undefined,
    private readonly sender: WebhookSender | undefined,
    private readonly ownBoss: PgBoss | undefined,
  ) {}

  static async start(options: EventsRuntimeOptions): Promise<EventsRuntime> {
    const { config, logger } = options;
    const settings = config.events;
    // The queue is needed even by a replica that does not deliver (WEBHOOKS=off): its sequencer queues the
    // jobs that the delivering replicas run.
    let boss = options.boss;
    let ownBoss: PgBoss | undefined;
    if (!boss) {
      // Expired jobs (a process killed mid-delivery) are handed out again at supervision: at half the expiry,
      // as the sync queue does, so a restart resumes deliveries within about 1.5 × WEBHOOK_JOB_EXPIRE_SECONDS.
      const interval = Math.max(1, Math.min(60, Math.floor(settings.jobExpireSeconds / 2)));
      ownBoss = new PgBoss({ db: onPool(options.pool), schema: config.sync.queueSchema, supervise: true, schedule: false, superviseIntervalSeconds: interval, monitorIntervalSeconds: interval });
      ownBoss.on('error', (err) => logger.warn({ err }, 'job queue: maintenance failed; retried at the next interval'));
      await ownBoss.start();
      boss = ownBoss;
    }
    const queue = await WebhookQueue.start(boss, settings.jobExpireSeconds);
    let worker: DeliveryWorker | undefined;
    let sender: WebhookSender | undefined;
    if (settings.deliver) {
      if (options.box) {
        sender = new WebhookSender({ policy: { allowHttp: settings.allowHttp, allowedNetworks: settings.allowedNetworks }, timeoutMs: settings.timeoutMs, connections: settings.endpointConcurrency });
        worker = new DeliveryWorker({
          db: options.db, queue, sender, box: options.box, logger,
          ...(options.metrics ? { metrics: options.metrics } : {}),
          settings: {
            concurrency: settings.concurrency,
            perEndpoint: settings.endpointConcurrency,
            pollMs: Math.max(settings.pollMs, 100),
            firstRetryDelayMs: settings.firstRetryDelayMs,
            maxRetryDelayMs: settings.maxRetryDelayMs,
            retryPeriodMs: settings.retryPeriodHours * 3_600_000,
            disableAfterMs: settings.disableAfterHours * 3_600_000,
          },
        });
        worker.start();
      } else {
        logger.warn('webhooks: no PROVISIO_ENCRYPTION_KEY, so no endpoint secret can be opened: events are kept for pull, not delivered');
      }
    }
    const runtime = new EventsRuntime(options, queue, worker, sender, ownBoss);
    runtime.loop = runtime.run();
    runtime.pruneTimer = setInterval(() => void runtime.prune(), PRUNE_EVERY_MS);
    runtime.pruneTimer.unref();
    runtime.sweepTimer = setInterval(() => void runtime.sweep(), SWEEP_EVERY_MS);
    runtime.sweepTimer.unref();
    return runtime;
  }

  /** Numbers what is waiting now (tests, and the loop). */
  async sequenceNow(): Promise<number> {
    let total = 0;
    for (;;) {
      const round = await sequenceEvents(this.options.db, this.queue, ROUND);
      total += round.numbered;
      if (round.deliveries > 0) this.worker?.nudge();
      if (round.busy || round.numbered < ROUND) break;
    }
    return total;
  }

  /** A write happened in this process: look for its events now rather than at the next poll. */
  nudge(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    const poll = this.options.config.events.pollMs;
    let failures = 0;
    while (!this.stopped) {
      try {
        if (await hasUnsequencedEvents(this.options.db)) await this.sequenceNow();
        failures = 0;
      } catch (err) {
        if (isDatabaseUnavailable(err)) this.outage.report(this.options.logger, err, 'events: numbering resumes when the database is back');
        else this.options.logger.warn({ err }, 'events: numbering failed; retrying');
        failures++;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, failures > 0 ? Math.min(5000, poll * 2 ** Math.min(failures, 5)) : poll);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /**
   * Queues a job for every subject whose pending delivery is overdue: a job lost to a long database outage
   * (pg-boss gave up retrying it) or a redelivery made without a queue. An extra job is harmless: it finds
   * nothing due, or its singleton key folds it into the one waiting.
   */
  async sweep(): Promise<number> {
    try {
      const groups = await overdueDeliveryGroups(this.options.db, OVERDUE_SECONDS, 1000);
      await this.queue.enqueue(this.options.db, groups);
      if (groups.length > 0) this.worker?.nudge();
      return groups.length;
    } catch (err) {
      if (!isDatabaseUnavailable(err)) this.options.logger.warn({ err }, 'events: queueing overdue deliveries failed; tried again shortly');
      return 0;
    }
  }

  /** Deletes events and settled deliveries past the retention. */
  async prune(now = new Date()): Promise<{ events: number; deliveries: number }> {
    const cutoff = new Date(now.getTime() - this.options.config.events.retentionDays * 86_400_000);
    try {
      const deliveries = await pruneDeliveries(this.options.db, cutoff, 10_000, () => this.stopped);
      const events = await pruneEvents(this.options.db, cutoff, 10_000, () => this.stopped);
      return { events, deliveries };
    } catch (err) {
      if (!isDatabaseUnavailable(err)) this.options.logger.warn({ err }, 'events: pruning failed; tried again in an hour');
      return { events: 0, deliveries: 0 };
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pruneTimer);
    clearInterval(this.sweepTimer);
    this.wake?.();
    await this.loop;
    await this.worker?.stop();
    await this.sender?.close();
    await this.ownBoss?.stop({ graceful: true, timeout: 10_000 });
  }
}
