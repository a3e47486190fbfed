/**
 * The running Okta mirror of `serve`: its queue (a lane on the sync's job queue), its worker, and one SDK
 * gateway per Okta org and credential, sharing one rate budget per org. A binding without `orgUrl` (the
 * zero-config start) mirrors into the built-in Okta emulator, started on first use and said loudly in the log.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Auth0Gateway } from '../auth0/gateway.js';
import { anyOktaBinding } from '../db/okta.js';
import type { Database } from '../db/schema.js';
import type { SecretBox } from '../secrets.js';
import { SyncConfigError } from '../sync/config.js';
import type { Lease } from '../sync/lease.js';
import type { OktaBinding } from './binding.js';
import type { RunningOktaEmulator } from './emulator/server.js';
import type { OktaCall, OktaCredentials, OktaGateway } from './gateway.js';
import { OktaGroupResolver } from './group-resolver.js';
import { loadOktaBinding } from './mirror-config.js';
import { mirrorUser, type MirrorDeps, type MirrorResult } from './mirror-user.js';
import { OktaMirrorWorker } from './mirror-worker.js';
import type { OktaQueue } from './queue.js';
import { OktaRateBudget } from './rate-budget.js';

export interface OktaRuntimeOptions {
  readonly db: Kysely<Database>;
  readonly queue: OktaQueue;
  /** Absent (a CLI reading Okta for a reconcile plan): the Auth0 user's `app_metadata.okta_user_id` is not written. */
  readonly auth0?: Auth0Gateway;
  readonly logger: Logger;
  readonly secrets?: SecretBox;
  readonly lease?: Lease;
  readonly production: boolean;
  readonly settings: { readonly concurrency: number; readonly tenantConcurrency: number; readonly timeoutMs: number; readonly rateReserve: number };
  /** Each Okta request (metrics). */
  readonly onCall?: (call: OktaCall) => void;
  readonly onJob?: (tenantId: string, outcome: string) => void;
  /** How often an idle worker looks for a first Okta binding (default 5 s). */
  readonly unboundPollMs?: number;
  /** Tests: retries within a call and the longest rate-limit wait. */
  readonly gatewayTuning?: { serverErrorRetries?: number; maxRateWaitMs?: number };
}

interface Target {
  readonly gateway: OktaGateway;
  readonly groups: OktaGroupResolver;
}

export class OktaRuntime {
  readonly worker: OktaMirrorWorker;
  private readonly targets = new Map<string, Target>();
  private readonly budgets = new Map<string, OktaRateBudget>();
  private emulator?: Promise<RunningOktaEmulator>;

  constructor(private readonly options: OktaRuntimeOptions) {
    this.worker = new OktaMirrorWorker({
      db: options.db,
      queue: options.queue,
      logger: options.logger,
      mirror: (tenantId, userId) => this.mirror(tenantId, userId),
      concurrency: options.settings.concurrency,
      tenantConcurrency: options.settings.tenantConcurrency,
      ...(options.lease ? { lease: options.lease } : {}),
      ...(options.onJob ? { onJob: options.onJob } : {}),
      anyBinding: () => anyOktaBinding(options.db),
      ...(options.unboundPollMs !== undefined ? { unboundPollMs: options.unboundPollMs } : {}),
    });
  }

  get queue(): OktaQueue {
    return this.options.queue;
  }

  start(): void {
    this.worker.start();
  }

  /** Requests that waited for an Okta rate window, and 429s received, over every org (metrics, benchmark). */
  rateCounts(): { waits: number; throttled: number } {
    let waits = 0;
    let throttled = 0;
    for (const budget of this.budgets.values()) {
      waits += budget.counts.waits;
      throttled += budget.counts.throttled;
    }
    return { waits, throttled };
  }

  /** Mirrors one user now (the worker's job; also `reconcile`). */
  async mirror(tenantId: string, userId: string, options: Pick<MirrorDeps, 'dryRun' | 'force'> = {}): Promise<MirrorResult> {
    const binding = await loadOktaBinding(this.options.db, tenantId);
    if (!binding) return { status: 'unbound', actions: [], oktaUserId: null, reason: 'the tenant has no Okta binding' };
    const target = await this.target(binding);
    return mirrorUser({ db: this.options.db, okta: target.gateway, groups: target.groups, ...(this.options.auth0 ? { auth0: this.options.auth0 } : {}), ...options }, binding, tenantId, userId);
  }

  /** The gateway and group resolver of the binding's org and credentials (one per pair, cached). */
  async target(binding: OktaBinding): Promise<Target> {
    const { orgUrl, credentials } = await this.endpoint(binding);
    const key = createHash('sha256').update(JSON.stringify([orgUrl, credentials])).digest('hex');
    let target = this.targets.get(key);
    if (!target) {
      let budget = this.budgets.get(orgUrl);
      if (!budget) this.budgets.set(orgUrl, (budget = new OktaRateBudget(this.options.settings.rateReserve)));
      // Loaded on first use: a process where no tenant binds Okta never loads the SDK.
      const { OktaGateway } = await import('./gateway.js');
      const gateway = new OktaGateway({ orgUrl, credentials, timeoutMs: this.options.settings.timeoutMs, budget, ...this.options.gatewayTuning });
      if (this.options.onCall) gateway.observe(this.options.onCall);
      target = { gateway, groups: new OktaGroupResolver(gateway) };
      this.targets.set(key, target);
    }
    return target;
  }

  private async endpoint(binding: OktaBinding): Promise<{ orgUrl: string; credentials: OktaCredentials }> {
    if (!binding.orgUrl) {
      if (this.options.production) throw new SyncConfigError('the Okta binding has no orgUrl, and the built-in Okta emulator is not used in production: `provisio okta bind <tenant> --org-url https://<org>.okta.com …`');
      const emulator = await this.startEmulator();
      return { orgUrl: emulator.baseUrl, credentials: { method: 'api-token', token: emulator.token } };
    }
    const auth = binding.auth;
    if (!auth) throw new SyncConfigError('the Okta binding has no credentials');
    const open = (sealed: string) => {
      if (sealed.startsWith('plain:')) return sealed.slice('plain:'.length);
      if (!this.options.secrets) throw new SyncConfigError('the Okta credentials are sealed, and this process has no PROVISIO_ENCRYPTION_KEY to open them');
      return this.options.secrets.open(sealed);
    };
    const credentials: OktaCredentials = auth.method === 'api-token'
      ? { method: 'api-token', token: open(auth.sealedToken) }
      : { method: 'private-key', clientId: auth.clientId, privateKey: open(auth.sealedPrivateKey), scopes: auth.scopes, ...(auth.keyId ? { keyId: auth.keyId } : {}) };
    return { orgUrl: binding.orgUrl, credentials };
  }

  private startEmulator(): Promise<RunningOktaEmulator> {
    this.emulator ??= import('./emulator/server.js').then(async ({ startOktaEmulator }) => {
      const running = await startOktaEmulator();
      this.options.logger.warn({ emulator: running.baseUrl }, 'NO OKTA ORG CONFIGURED for a tenant that binds Okta: mirroring into the built-in Okta emulator (in memory). Set okta.orgUrl and okta.auth for a real org.');
      return running;
    });
    return this.emulator;
  }

  async stop(): Promise<void> {
    await this.worker.stop();
    if (this.emulator) await (await this.emulator).close();
  }
}
