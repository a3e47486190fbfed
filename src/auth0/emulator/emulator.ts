/**
 * The emulator's TypeScript control surface: state read/reset/restore, clients and connections, SCIM
 * tokens, simulated sessions, rate-limit plan, fault injection and the call log. The same operations are
 * exposed over HTTP under `/__emulator` (admin-routes.ts).
 */
import { CallLog, type CallFilter, type CallRecord } from '../../emulators/call-log.js';
import type { EmulatorContext, EmulatorSettings } from './context.js';
import type { FaultRule, FaultTarget } from '../../emulators/faults.js';
import { FaultInjector } from './faults.js';
import { newClientId, newClientSecret, newConnectionId, newSessionId } from './ids.js';
import { OPERATIONS } from './operation-schemas.js';
import { RateLimiter, type BucketLimit, type RateCategory, type RatePlan } from './rate-limit.js';
import { createScimToken, DEFAULT_SCIM_MAPPING, SCIM_TOKEN_SCOPES } from './scim-config.js';
import { EmulatorState } from './state.js';
import { notFound } from './errors.js';
import type { ConnectionStrategy, EmuConnection, EmulatorStateData } from './types.js';

/** Every scope any emulated operation accepts, plus the SCIM-configuration ones. */
export const ALL_SCOPES: readonly string[] = [
  ...new Set(Object.values(OPERATIONS).flatMap((op) => op.scopes)),
].sort();

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** What `seed()` created: an M2M client granted every scope, a database and an enterprise connection. */
export interface SeedInfo {
  client: ClientCredentials;
  connections: {
    database: { id: string; name: string };
    enterprise: { id: string; name: string; scim: { path: string; token: string } };
  };
}

export interface Auth0EmulatorOptions {
  /** Tenant domain the SDK is configured with (default `provisio-emulator.auth0.local`). */
  domain?: string;
  plan?: RatePlan;
  tokenLifetimeSec?: number;
  /** Build time of an Action draft (default 0); change it later through `settings.actionBuildMs`. */
  actionBuildMs?: number;
  /** Seed for the fault injector's PRNG. */
  faultSeed?: number;
  now?: () => number;
}

/** One emulated Auth0 tenant. */
export class Auth0Emulator {
  readonly state: EmulatorState;
  readonly limiter: RateLimiter;
  readonly faults: FaultInjector;
  readonly calls = new CallLog();
  readonly settings: EmulatorSettings;
  readonly context: EmulatorContext;
  private clock: () => number;
  private lastSeed: SeedInfo | undefined;

  constructor(options: Auth0EmulatorOptions = {}) {
    this.clock = options.now ?? Date.now;
    const now = (): number => this.clock();
    this.state = new EmulatorState(options.domain ?? 'provisio-emulator.auth0.local');
    this.limiter = new RateLimiter(options.plan ?? 'off', now);
    this.faults = new FaultInjector(options.faultSeed);
    this.settings = { tokenLifetimeSec: options.tokenLifetimeSec ?? 86_400, actionBuildMs: options.actionBuildMs ?? 0 };
    const state = this.state;
    this.context = {
      state,
      limiter: this.limiter,
      faults: this.faults,
      calls: this.calls,
      settings: this.settings,
      now,
      issuer: () => `https://${state.domain}`,
    };
  }

  get domain(): string {
    return this.state.domain;
  }

  /** Replaces the clock (tests that move time: token expiry, consistency delay, buckets). */
  setClock(now: () => number): void {
    this.clock = now;
  }

  /** A deep copy of the whole tenant state. */
  snapshot(): EmulatorStateData {
    return this.state.toJSON();
  }

  /** Replaces the whole tenant state. */
  restore(data: EmulatorStateData): void {
    this.state.load(data);
  }

  /**
   * Empties the tenant, the call log, faults and rate buckets; with `seed` (default) re-creates the same
   * seeded client and connections so configured credentials keep working.
   */
  reset(options: { seed?: boolean } = {}): SeedInfo | undefined {
    const previous = this.lastSeed;
    this.state.clear();
    this.calls.clear();
    this.faults.clear();
    this.limiter.reset();
    this.lastSeed = undefined;
    if (options.seed === false) return undefined;
    return this.seed(previous);
  }

  /** Registers an M2M client with a Management API grant for `scopes` (default: every scope). */
  createClient(options: {
    name?: string; scopes?: readonly string[]; clientId?: string; clientSecret?: string;
    /** A `spa` client signs users in (no Management API grant unless `scopes` says so). */
    appType?: 'spa' | 'regular_web'; callbacks?: readonly string[]; webOrigins?: readonly string[];
    /** Names of connections to enable for the client (its users log in through them). */
    connections?: readonly string[];
  } = {}): ClientCredentials {
    const clientId = options.clientId ?? newClientId();
    const clientSecret = options.clientSecret ?? newClientSecret();
    this.state.clients.set(clientId, {
      client_id: clientId,
      client_secret: clientSecret,
      name: options.name ?? (options.appType ? 'Provisio console' : 'Provisio M2M'),
      scopes: [...(options.scopes ?? (options.appType ? [] : ALL_SCOPES))],
      ...(options.appType ? { app_type: options.appType } : {}),
      ...(options.callbacks ? { callbacks: [...options.callbacks] } : {}),
      ...(options.webOrigins ? { web_origins: [...options.webOrigins] } : {}),
    });
    for (const name of options.connections ?? []) {
      const connection = this.state.connectionByName(name);
      if (!connection) throw notFound('The connection does not exist', 'inexistent_connection');
      if (!connection.enabled_clients.includes(clientId)) connection.enabled_clients.push(clientId);
    }
    return { clientId, clientSecret };
  }

  /** Creates a connection; database connections are enabled for the given clients. */
  createConnection(options: { name: string; strategy: ConnectionStrategy; enabledClients?: readonly string[]; id?: string }): EmuConnection {
    const connection: EmuConnection = {
      id: options.id ?? newConnectionId(),
      name: options.name,
      display_name: options.name,
      strategy: options.strategy,
      enabled_clients: [...(options.enabledClients ?? [])],
      realms: [options.name],
      is_domain_connection: false,
      metadata: {},
      options: options.strategy === 'auth0' ? { passwordPolicy: 'fair', requires_username: false } : {},
    };
    this.state.connections.set(connection.id, connection);
    return connection;
  }

  /** Enables inbound SCIM on an enterprise connection (if needed) and issues a token. */
  createScimToken(connectionId: string, scopes: readonly string[] = SCIM_TOKEN_SCOPES): { tokenId: string; token: string } {
    this.state.connection(connectionId);
    let cfg = this.state.scim.get(connectionId);
    if (!cfg) {
      const now = new Date(this.clock()).toISOString();
      cfg = { connection_id: connectionId, user_id_attribute: 'externalId', mapping: DEFAULT_SCIM_MAPPING.map((m) => ({ ...m })), created_at: now, updated_on: now, tokens: [] };
      this.state.scim.set(connectionId, cfg);
    }
    const token = createScimToken(cfg, this.clock(), scopes);
    return { tokenId: token.token_id, token: token.token };
  }

  /** Simulates a login: the user gains a session and a refresh token (what revocation removes). */
  addSession(userId: string): { sessionId: string; refreshTokenId: string } {
    const user = this.state.user(userId);
    const sessionId = newSessionId();
    const refreshTokenId = newSessionId();
    user.sessions.push(sessionId);
    user.refresh_tokens.push(refreshTokenId);
    user.logins_count += 1;
    user.last_login = new Date(this.clock()).toISOString();
    return { sessionId, refreshTokenId };
  }

  /**
   * Creates the default tenant content: an M2M client granted every scope, a database connection enabled
   * for it, and a SAML enterprise connection with inbound SCIM and one SCIM token. `reuse` keeps ids and
   * secrets from a previous seed.
   */
  seed(reuse?: SeedInfo): SeedInfo {
    const client = this.createClient({
      name: 'Provisio M2M',
      ...(reuse ? { clientId: reuse.client.clientId, clientSecret: reuse.client.clientSecret } : {}),
    });
    const db = this.createConnection({
      name: 'Username-Password-Authentication',
      strategy: 'auth0',
      enabledClients: [client.clientId],
      ...(reuse ? { id: reuse.connections.database.id } : {}),
    });
    const ent = this.createConnection({
      name: 'acme-saml',
      strategy: 'samlp',
      enabledClients: [client.clientId],
      ...(reuse ? { id: reuse.connections.enterprise.id } : {}),
    });
    let scimToken = this.createScimToken(ent.id).token;
    if (reuse) {
      // Keep the previously printed SCIM token valid across resets.
      const cfg = this.state.scim.get(ent.id);
      const first = cfg?.tokens[0];
      if (first) first.token = scimToken = reuse.connections.enterprise.scim.token;
    }
    this.lastSeed = {
      client,
      connections: {
        database: { id: db.id, name: db.name },
        enterprise: { id: ent.id, name: ent.name, scim: { path: `/scim/v2/connections/${ent.id}`, token: scimToken } },
      },
    };
    return this.lastSeed;
  }

  /** The seed info of the last `seed()`/`reset()`, if any. */
  get seeded(): SeedInfo | undefined {
    return this.lastSeed;
  }

  setPlan(plan: RatePlan): void {
    this.limiter.setPlan(plan);
  }

  /** Overrides one rate-limit bucket (`null` removes it, `undefined` restores the plan's value). */
  setRateLimit(bucket: RateCategory | 'global', limit: BucketLimit | null | undefined): void {
    this.limiter.setLimit(bucket, limit);
  }

  /** Injects a fault for `METHOD /path-template`, `POST /oauth/token`, `SCIM` or `*`. */
  injectFault(target: FaultTarget, rule: FaultRule): void {
    this.faults.set(target, rule);
  }

  /** Removes one target's fault, or all faults and the consistency delay. */
  clearFaults(target?: FaultTarget): void {
    this.faults.clear(target);
  }

  /** Delay before member list changes become visible (eventual consistency). */
  setMemberListDelay(ms: number): void {
    this.faults.memberListDelayMs = ms;
  }

  /** Calls received, oldest first. */
  callLog(filter?: CallFilter): CallRecord[] {
    return this.calls.list(filter);
  }

  clearCallLog(): void {
    this.calls.clear();
  }
}
