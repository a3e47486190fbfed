/**
 * The running Okta mirror of `serve`: its queue (a lane on the sync's job queue), its worker, and one SDK
 * gateway per Okta org and credential, sharing one rate budget per org. A binding without `orgUrl` (the
 * zero-config start) mirrors into the built-in Okta emulator, started on first use and said loudly in the log.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Auth0Gateway } from '../auth0/gateway.js';
import { anyOktaBinding } from '../db/okta.js';
import type { Database } from '../db/schema.js';
import type { SecretBox } from '../secrets.js';
import { SyncConfigError } from '../sync/config.js';
import type { CallTrace } from '../sync/call-trace.js';
import type { UserHistoryRecorder } from '../sync/history-recorder.js';
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
  /** Where each run is recorded for the user's timeline (the sync worker's recorder). */
  readonly history?: UserHistoryRecorder;
  /** How often an idle worker looks for a first Okta binding (default 5 s). */
  readonly unboundPollMs?: number;
  /** Tests: retries within a call and the longest rate-limit wait. */
  readonly gatewayTuning?: { serverErrorRetries?: number; maxRateWaitMs?: number };
}

interface Target {
  readonly gateway: OktaGateway;
  readonly groups: OktaGroupResolver;
}

/** Path segments that are Okta's own words; every other one after a resource is an id (or a login) and becomes `{id}`. */
const OKTA_WORDS = new Set(['api', 'v1', 'users', 'groups', 'lifecycle', 'activate', 'deactivate', 'reactivate', 'oauth2', 'token']);

/** A request's operation template for a user's history: no ids, logins or query (`PUT /api/v1/groups/{id}/users/{id}`). */
export function oktaOperation(method: string, url: string): string {
  const path = new URL(url).pathname.split('/').map((part) => (part === '' || OKTA_WORDS.has(part) ? part : '{id}')).join('/');
  return `${method.toUpperCase()} ${path}`;
}

export class OktaRuntime {
  readonly worker: OktaMirrorWorker;
  private readonly targets = new Map<string, Target>();
  private readonly traces = new AsyncLocalStorage<CallTrace>();
  private readonly budgets = new Map<string, OktaRateBudget>();
  private emulatorStart?: Promise<RunningOktaEmulator>;

  constructor(private readonly options: OktaRuntimeOptions) {
    this.worker = new OktaMirrorWorker({
      db: options.db,
      queue: options.queue,
      logger: options.logger,
      mirror: (tenantId, userId, trace) => this.mirror(tenantId, userId, {}, trace),
      ...(options.history ? { history: options.history } : {}),
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

  /** The built-in Okta emulator's URL and token, once a binding without an org URL started it (`provisio okta show`). */
  async emulator(): Promise<{ baseUrl: string; token: string } | undefined> {
    const running = await this.emulatorStart;
    return running ? { baseUrl: running.baseUrl, token: running.token } : undefined;
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

  /** Mirrors one user now (the worker's job; also `reconcile`); its Okta and Auth0 calls are noted in `trace`. */
  async mirror(tenantId: string, userId: string, options: Pick<MirrorDeps, 'dryRun' | 'force'> = {}, trace?: CallTrace): Promise<MirrorResult> {
    const binding = await loadOktaBinding(this.options.db, tenantId, { fresh: true });
    if (!binding) return { status: 'unbound', actions: [], oktaUserId: null, reason: 'the tenant has no Okta binding' };
    const target = await this.target(binding);
    const auth0 = this.options.auth0 && trace ? this.options.auth0.observed(trace.observer) : this.options.auth0;
    const run = () => mirrorUser({ db: this.options.db, okta: target.gateway, groups: target.groups, ...(auth0 ? { auth0 } : {}), ...options }, binding, tenantId, userId);
    // Concurrent jobs share one gateway: each run's calls find their trace through the async context.
    return trace ? this.traces.run(trace, run) : run();
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
      gateway.observe((call) => {
        this.options.onCall?.(call);
        this.traces.getStore()?.add(oktaOperation(call.method, call.url), call.status === 0 ? 'network' : call.status, call.ms);
      });
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
    this.emulatorStart ??= import('./emulator/server.js').then(async ({ startOktaEmulator }) => {
      const running = await startOktaEmulator();
      this.options.logger.warn({ emulator: running.baseUrl }, 'NO OKTA ORG CONFIGURED for a tenant that binds Okta: mirroring into the built-in Okta emulator (in memory). Set okta.orgUrl and okta.auth for a real org.');
      return running;
    });
    return this.emulatorStart;
  }

  async stop(): Promise<void> {
    await this.worker.stop();
    if (this.emulatorStart) await (await this.emulatorStart).close();
  }
}
