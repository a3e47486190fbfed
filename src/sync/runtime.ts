import type { Logger } from 'pino';
import { Auth0Gateway } from '../auth0/gateway.js';
import type { Auth0Config, Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import { secretBoxFor } from '../secrets.js';
import type { DatabaseHandle } from '../db/client.js';
import { queueDirectoryEvents, type DirectoryEvents } from './events.js';
import { SyncQueue } from './queue.js';
import { Lease } from './lease.js';
import { SyncWorker } from './worker.js';
import { startOktaQueue } from '../okta/queue.js';
import { OktaRuntime } from '../okta/runtime.js';

/** The running sync: queue, Auth0 gateway, worker, and the emulator when no Auth0 tenant is configured. */
export interface SyncRuntime {
  readonly queue: SyncQueue;
  readonly gateway: Auth0Gateway;
  readonly worker: SyncWorker;
  readonly events: DirectoryEvents;
  /** Where Auth0 calls go: the configured domain, or the in-process emulator's URL. */
  readonly target: string;
  /** The Auth0 tenant in use: the configured one, or the emulator's (the admin API's scope check and Action deploy use it). */
  readonly auth0: Auth0Config;
  /** The in-process emulator of the zero-config start (absent with a configured Auth0 tenant). */
  readonly emulator?: { readonly baseUrl: string; readonly databaseConnection: { id: string; name: string } };
  /** The Okta mirror (issue 18): its own lane on the job queue, run by the replica holding the sync lease. */
  readonly okta: OktaRuntime;
  stop(): Promise<void>;
}

/**
 * Starts the sync for `serve`. With no Auth0 settings the built-in emulator runs in-process (zero-config
 * start), and the log says so loudly: nothing reaches a real Auth0 tenant then.
 */
export async function startSync(config: Config, database: DatabaseHandle, logger: Logger, metrics?: (gateway: Auth0Gateway) => Metrics): Promise<SyncRuntime & { metrics?: Metrics }> {
  let auth0 = config.auth0;
  let closeEmulator: (() => Promise<void>) | undefined;
  let emulatorInfo: SyncRuntime['emulator'];
  if (!auth0) {
    const { startAuth0Emulator } = await import('../auth0/emulator/server.js');
    const emulator = await startAuth0Emulator({ plan: 'enterprise' });
    closeEmulator = () => emulator.close();
    emulatorInfo = { baseUrl: emulator.baseUrl, databaseConnection: emulator.connections.database };
    auth0 = { domain: emulator.domain, clientId: emulator.client.clientId, clientSecret: emulator.client.clientSecret, baseUrl: emulator.baseUrl, plan: 'enterprise' };
    logger.warn(
      { emulator: emulator.baseUrl, databaseConnection: emulator.connections.database, enterpriseConnection: { id: emulator.connections.enterprise.id, name: emulator.connections.enterprise.name } },
      'NO AUTH0 TENANT CONFIGURED: syncing into the built-in Auth0 emulator (in memory). Set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET for a real tenant.',
    );
  }
  const gateway = Auth0Gateway.fromSettings(auth0);
  // The sync's own connections (src/db/client.ts): its longer statement timeout, apart from requests'.
  const queue = await SyncQueue.start(database.sync.pool, { schema: config.sync.queueSchema, retryLimit: config.sync.retryLimit, expireInSeconds: config.sync.jobExpireSeconds }, logger);
  const built = metrics?.(gateway);
  const secrets = secretBoxFor(config);
  // One replica at a time runs the sync (src/sync/lease.ts); claimed before the worker starts, so the first
  // /readyz of a single process already says `running`.
  const lease = new Lease(database.sync.db, 'sync', { seconds: config.sync.leaseSeconds, logger });
  await lease.held().catch(() => false);
  const oktaQueue = await startOktaQueue(queue.boss, config);
  const worker = new SyncWorker({ db: database.sync.db, queue, gateway, logger, lease, okta: oktaQueue, concurrency: config.sync.concurrency, tenantConcurrency: config.sync.tenantConcurrency, ...(built ? { metrics: built } : {}), ...(secrets ? { secrets } : {}) });
  // The Okta runs join the sync worker's history recorder (written until the sync worker stops, after the Okta lane).
  const okta = new OktaRuntime({
    db: database.sync.db, queue: oktaQueue, auth0: gateway, logger, lease, production: config.production, settings: config.okta, history: worker.history,
    ...(secrets ? { secrets } : {}),
    ...(built ? { onCall: built.oktaCall, onJob: (tenant: string, outcome: string) => built.oktaJobs.inc({ tenant, outcome }) } : {}),
  });
  worker.start();
  okta.start();
  return {
    queue,
    gateway,
    worker,
    ...(built ? { metrics: built } : {}),
    events: queueDirectoryEvents(queue),
    target: auth0.baseUrl ?? `https://${auth0.domain}`,
    auth0,
    ...(emulatorInfo ? { emulator: emulatorInfo } : {}),
    okta,
    stop: async () => {
      // The Okta lane first: the sync worker releases the lease it runs under when it stops.
      await okta.stop();
      await worker.stop();
      await queue.stop();
      await closeEmulator?.();
    },
  };
}
