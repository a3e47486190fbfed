/**
 * Every call the Okta mirror makes (imported only once a tenant binds Okta: the SDK alone is ~90 MB of RSS), through the official `@okta/okta-sdk-nodejs` (as `auth0` is for Auth0).
 * The SDK's own request executor is replaced by one that paces requests by Okta's rate-limit headers
 * (src/okta/rate-budget.ts), waits out 429s until the window resets, retries 5xx answers and dropped
 * connections a few times, and bounds every request with a timeout (the SDK has none by default). SDK
 * quirks met on the way (issue 18 notes): its cache serves stale users, so it is off; it reads
 * `~/.okta/okta.yaml` and `OKTA_CLIENT_*` unless every option is given, so every option is given.
 */
import okta from '@okta/okta-sdk-nodejs';
import { SyncConfigError } from '../sync/config.js';
import { classifyOktaError, OktaRetryableError, type SdkError } from './errors.js';
import { OktaRateBudget, rateFamily } from './rate-budget.js';

/** The parts of an Okta user the mirror reads. */
export interface OktaUser {
  readonly id: string;
  readonly status: string;
  readonly profile: Record<string, unknown>;
}

export interface OktaGroup {
  readonly id: string;
  readonly name: string;
  readonly type: string | undefined;
}

export type OktaCredentials =
  | { readonly method: 'api-token'; readonly token: string }
  | { readonly method: 'private-key'; readonly clientId: string; readonly privateKey: string; readonly keyId?: string; readonly scopes: readonly string[] };

export interface OktaGatewayOptions {
  readonly orgUrl: string;
  readonly credentials: OktaCredentials;
  readonly timeoutMs?: number;
  readonly budget?: OktaRateBudget;
  /** Retries of a 5xx or a dropped connection within one call (the job is retried beyond them). */
  readonly serverErrorRetries?: number;
  /** The longest a call waits for rate-limit windows in total before it gives up for now (retryable). */
  readonly maxRateWaitMs?: number;
}

type FetchRequest = Parameters<okta.RequestExecutor['fetch']>[0] & { url: string; method?: string };
type FetchResponse = Awaited<ReturnType<okta.RequestExecutor['fetch']>>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The SDK's executor, paced by the budget, with a timeout per request and bounded retries. */
class PacedExecutor extends okta.RequestExecutor {
  constructor(private readonly options: Required<Pick<OktaGatewayOptions, 'timeoutMs' | 'serverErrorRetries' | 'maxRateWaitMs'>> & { budget: OktaRateBudget; onCall?: (call: OktaCall) => void }) {
    super();
  }

  override async fetch(input: Parameters<okta.RequestExecutor['fetch']>[0]): Promise<FetchResponse> {
    const request = input as FetchRequest;
    const method = (request.method ?? 'GET').toUpperCase();
    const family = rateFamily(method, request.url);
    const { budget } = this.options;
    let waited = 0;
    let serverErrors = 0;
    for (;;) {
      for (let delay = budget.delayFor(family); delay > 0; delay = budget.delayFor(family)) {
        if (waited + delay > this.options.maxRateWaitMs) throw new OktaRetryableError(`${method} ${family}`, 429, `Okta rate limit of ${family} exhausted for ${Math.round(delay / 1000)} s more; retried later`);
        budget.counts.waits++;
        waited += delay;
        await sleep(delay + Math.floor(Math.random() * 100));
      }
      const started = Date.now();
      let response: FetchResponse;
      try {
        // node-fetch's own per-request timeout (the SDK passes the request object to it as options).
        response = await super.fetch({ ...request, timeout: this.options.timeoutMs } as typeof input);
      } catch (err) {
        this.options.onCall?.({ method, url: request.url, status: 0, ms: Date.now() - started });
        if (serverErrors++ < this.options.serverErrorRetries) {
          await sleep(250 * 2 ** serverErrors);
          continue;
        }
        throw new OktaRetryableError(`${method} ${family}`, undefined, `Okta did not answer ${method} ${new URL(request.url).pathname}: ${(err as Error).message}`);
      }
      this.options.onCall?.({ method, url: request.url, status: response.status, ms: Date.now() - started });
      budget.observe(family, response.headers, response.status);
      if (response.status === 429) {
        const delay = budget.retryAt(response.headers) - Date.now();
        if (waited + delay > this.options.maxRateWaitMs) return response;
        waited += Math.max(0, delay);
        await sleep(Math.max(0, delay) + Math.floor(Math.random() * 250));
        continue;
      }
      if (response.status >= 500 && serverErrors++ < this.options.serverErrorRetries) {
        await sleep(250 * 2 ** serverErrors);
        continue;
      }
      return response;
    }
  }
}

/** One Okta request as the mirror's call trace and metrics see it. */
export interface OktaCall {
  readonly method: string;
  readonly url: string;
  /** 0: no answer (timeout, connection lost). */
  readonly status: number;
  readonly ms: number;
}

function isNotFound(err: unknown): boolean {
  return (err as SdkError | undefined)?.status === 404;
}

function toUser(user: { id?: string; status?: string; profile?: object }): OktaUser {
  return { id: user.id ?? '', status: String(user.status ?? ''), profile: { ...(user.profile ?? {}) } as Record<string, unknown> };
}

/** The Okta calls of the mirror, classified. */
export class OktaGateway {
  readonly budget: OktaRateBudget;
  private readonly client: okta.Client;
  private observers = new Set<(call: OktaCall) => void>();

  constructor(readonly options: OktaGatewayOptions) {
    this.budget = options.budget ?? new OktaRateBudget();
    const executor = new PacedExecutor({
      budget: this.budget,
      timeoutMs: options.timeoutMs ?? 15_000,
      serverErrorRetries: options.serverErrorRetries ?? 2,
      maxRateWaitMs: options.maxRateWaitMs ?? 70_000,
      onCall: (call) => this.observers.forEach((o) => o(call)),
    });
    const c = options.credentials;
    const auth = c.method === 'api-token'
      ? { authorizationMode: 'SSWS', token: c.token }
      : { authorizationMode: 'PrivateKey', clientId: c.clientId, scopes: c.scopes.join(' '), privateKey: c.privateKey, ...(c.keyId ? { keyId: c.keyId } : {}) };
    try {
      this.client = new okta.Client({ orgUrl: options.orgUrl, ...auth, cacheMiddleware: null, requestExecutor: executor } as unknown as ConstructorParameters<typeof okta.Client>[0]);
    } catch (err) {
      // The SDK refuses its configuration (an org URL or credentials it cannot use): no retry can help.
      throw new SyncConfigError(`the Okta binding cannot be used: ${(err as Error).message}`);
    }
  }

  /** Calls seen while `fn` runs are passed to `observer` (a job's call trace). Returns an unsubscribe. */
  observe(observer: (call: OktaCall) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyOktaError(operation, err);
    }
  }

  /** A user by id or login; undefined when Okta has none (a deleted user, or a login never seen). */
  async getUser(idOrLogin: string): Promise<OktaUser | undefined> {
    try {
      return toUser(await this.client.userApi.getUser({ userId: idOrLogin }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw classifyOktaError('GET /api/v1/users/{id}', err);
    }
  }

  /**
   * Creates a user. `federated`: active at once with no password and no email (they sign in elsewhere);
   * `activation-email`: activated, Okta emails a link to set a password; `staged`: not activated.
   */
  async createUser(profile: Record<string, unknown>, activation: 'federated' | 'activation-email' | 'staged'): Promise<OktaUser> {
    return this.call('POST /api/v1/users', async () => {
      if (activation === 'federated') {
        return toUser(await this.client.userApi.createUser({ body: { profile, credentials: { provider: { type: 'FEDERATION', name: 'FEDERATION' } } } as never, activate: true, provider: true }));
      }
      return toUser(await this.client.userApi.createUser({ body: { profile } as never, activate: activation === 'activation-email' }));
    });
  }

  /** Partial profile update (`POST /api/v1/users/{id}`): only the given attributes change; `null` clears one. */
  async updateProfile(userId: string, profile: Record<string, unknown>): Promise<OktaUser> {
    return this.call('POST /api/v1/users/{id}', async () => toUser(await this.client.userApi.updateUser({ userId, user: { profile } as never })));
  }

  /** `sendEmail`: Okta emails an activation link (a user without a password, under `activation: activation-email`). */
  async activate(userId: string, sendEmail = false): Promise<void> {
    await this.call('POST /api/v1/users/{id}/lifecycle/activate', () => this.client.userApi.activateUser({ userId, sendEmail }));
  }

  async deactivate(userId: string): Promise<void> {
    await this.call('POST /api/v1/users/{id}/lifecycle/deactivate', () => this.client.userApi.deactivateUser({ userId, sendEmail: false }));
  }

  /** Deletes a DEPROVISIONED user for good (Okta deactivates a user that is not, instead of deleting it). */
  async deleteUser(userId: string): Promise<void> {
    try {
      await this.client.userApi.deleteUser({ userId, sendEmail: false });
    } catch (err) {
      // Gone already: a retry within the call after the first attempt deleted it, or an admin did.
      if (isNotFound(err)) return;
      throw classifyOktaError('DELETE /api/v1/users/{id}', err);
    }
  }

  /** The user's groups (Everyone included). */
  async userGroups(userId: string): Promise<OktaGroup[]> {
    return this.call('GET /api/v1/users/{id}/groups', async () => {
      const groups: OktaGroup[] = [];
      const list = await this.client.userApi.listUserGroups({ userId });
      for await (const g of list) if (g) groups.push({ id: g.id ?? '', name: g.profile?.name ?? '', type: g.type as string | undefined });
      return groups;
    });
  }

  async getGroup(groupId: string): Promise<OktaGroup | undefined> {
    try {
      const g = await this.client.groupApi.getGroup({ groupId });
      return { id: g.id ?? groupId, name: g.profile?.name ?? '', type: g.type as string | undefined };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw classifyOktaError('GET /api/v1/groups/{id}', err);
    }
  }

  /** The group named exactly `name` (case-insensitive, as Okta compares group names), if any. */
  async findGroupByName(name: string): Promise<OktaGroup | undefined> {
    return this.call('GET /api/v1/groups', async () => {
      const list = await this.client.groupApi.listGroups({ search: `profile.name eq "${name.replace(/(["\\])/g, '\\$1')}"` });
      for await (const g of list) {
        if (g && (g.profile?.name ?? '').toLowerCase() === name.toLowerCase()) return { id: g.id ?? '', name: g.profile?.name ?? '', type: g.type as string | undefined };
      }
      return undefined;
    });
  }

  async createGroup(name: string, description?: string): Promise<OktaGroup> {
    return this.call('POST /api/v1/groups', async () => {
      const g = await this.client.groupApi.createGroup({ group: { profile: { name, ...(description ? { description } : {}) } } as never });
      return { id: g.id ?? '', name: g.profile?.name ?? name, type: g.type as string | undefined };
    });
  }

  async addToGroup(groupId: string, userId: string): Promise<void> {
    await this.call('PUT /api/v1/groups/{id}/users/{userId}', () => this.client.groupApi.assignUserToGroup({ groupId, userId }));
  }

  async removeFromGroup(groupId: string, userId: string): Promise<void> {
    try {
      await this.client.groupApi.unassignUserFromGroup({ groupId, userId });
    } catch (err) {
      // Already gone (removed in the admin console meanwhile): what we wanted.
      if (isNotFound(err)) return;
      throw classifyOktaError('DELETE /api/v1/groups/{id}/users/{userId}', err);
    }
  }
}
