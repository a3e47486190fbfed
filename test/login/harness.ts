/**
 * A real Provisio (app + database + pg-boss queue + worker) with the login decision endpoint, synced into
 * an in-process Auth0 emulator; optionally listening on a port (the Action harness calls it over HTTP).
 * Several tenants, for the cross-tenant cases.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { pino } from 'pino';
import { createTenant } from '../../src/admin/tenants.js';
import { buildApp } from '../../src/app.js';
import { Auth0Gateway } from '../../src/auth0/gateway.js';
import { startAuth0Emulator, type RunningAuth0Emulator } from '../../src/auth0/emulator/server.js';
import { buildUser } from '../../src/auth0/emulator/user-ops.js';
import { loadConfig } from '../../src/config.js';
import type { DatabaseHandle } from '../../src/db/client.js';
import { ACTION_TOKEN_AUDIENCE, ACTION_TOKEN_ISSUER } from '../../src/login/action-token.js';
import { bindTenant } from '../../src/sync/binding.js';
import { queueDirectoryEvents, type DirectoryEvents } from '../../src/sync/events.js';
import { SyncWorker } from '../../src/sync/worker.js';
import type { ScimClient } from '../helpers/app.js';
import { testDatabase, testJobQueue } from '../helpers/db.js';
import { emulatorOrg, emulatorUser, settleSync } from '../helpers/emulator.js';

interface TapLike {
  teardown(fn: () => unknown): void;
}

export const ACTION_SECRET = 'test-action-secret-0123456789abcdef0123456789';

export interface TestTenant {
  readonly id: string;
  readonly name: string;
  readonly scim: ScimClient;
  bind(binding: Record<string, unknown>, rules?: unknown): Promise<void>;
}

export interface LoginHarness {
  readonly database: DatabaseHandle;
  readonly emulator: RunningAuth0Emulator;
  readonly app: FastifyInstance;
  readonly worker: SyncWorker;
  /** The app's directory events (what an admin action enqueues the sync through). */
  readonly events: DirectoryEvents;
  /** `http://127.0.0.1:<port>` when started with `listen: true`. */
  readonly url: string;
  tenant(name: string): Promise<TestTenant>;
  /** Waits until no sync of any tenant is pending or queued. */
  settle(timeoutMs?: number): Promise<void>;
  org(name: string): { id: string; members: Map<string, string[]> } | undefined;
  auth0User(email: string): Record<string, unknown> | undefined;
  /** What Auth0 does at a first SSO login: the user appears in the connection (the emulator has no login flow). */
  ssoUser(email: string, options?: { verified?: boolean; connection?: 'enterprise' | 'database' }): { user_id: string; identities: { provider: string; user_id: string; connection: string }[] };
  /** Auth0 Auto-Membership: the member is added before the Action runs (research/auth0.md §4.4). */
  autoMember(orgName: string, userId: string): void;
  /** Management API writes (non-GET) the emulator saw since `since` (a call-log `seq`). */
  writesSince(since: number): { method: string; url: string }[];
  lastSeq(): number;
  /** The login facts' `connection` for an emulator connection. */
  connection(which: 'enterprise' | 'database'): { id: string; name: string; strategy: string };
  syncRow(tenantId: string, userId: string): Promise<{ status: string; auth0_user_id: string | null } | undefined>;
}

/** Starts everything; `budgetMs` is the decision's Auth0 time budget. */
export async function loginHarness(t: TapLike, options: { listen?: boolean; budgetMs?: number; env?: Record<string, string> } = {}): Promise<LoginHarness> {
  const database = await testDatabase(t);
  const emulator = await startAuth0Emulator({ plan: 'off' });
  t.teardown(() => emulator.close());
  const gateway = Auth0Gateway.fromSettings({
    domain: emulator.domain, clientId: emulator.client.clientId, clientSecret: emulator.client.clientSecret, baseUrl: emulator.baseUrl, plan: 'enterprise',
  });
  const { queue, schema } = await testJobQueue(t, database);
  const logger = pino({ level: 'silent' });
  const worker = new SyncWorker({ db: database.db, queue, gateway, logger, pollMs: 50 });
  const config = loadConfig({ LOG_LEVEL: 'silent', SCIM_TOKEN_CACHE_MS: '0', PROVISIO_ACTION_SECRET: ACTION_SECRET, ...options.env });
  const events = queueDirectoryEvents(queue);
  const app = await buildApp({ config, database, logger, events, gateway, queue, ...(options.budgetMs !== undefined ? { loginBudgetMs: options.budgetMs } : {}) });
  t.teardown(() => app.close());
  let url = '';
  if (options.listen) url = await app.listen({ port: 0, host: '127.0.0.1' });
  worker.start();
  t.teardown(() => worker.stop());

  const writes = () => emulator.emulator.callLog().filter((c) => c.method !== 'GET' && !c.url.startsWith('/oauth/token'));
  return {
    database, emulator, app, worker, events, url,
    tenant: async (name) => {
      const created = await createTenant(database.db, { name });
      const scim: ScimClient = {
        tenant: name,
        token: created.token,
        request: async (method, path, body, headers = {}) => (await app.inject({
          method, url: `/scim/v2/${name}${path}`,
          headers: { authorization: `Bearer ${created.token}`, ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}), ...headers },
          payload: body === undefined ? undefined : JSON.stringify(body),
        })) as never,
        json: async (method, path, body, headers) => {
          const res = await scim.request(method, path, body, headers);
          return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
        },
      };
      return {
        id: created.tenant.id, name, scim,
        bind: async (binding, rules) => {
          await bindTenant(database.db, queue, created.tenant.id, { binding, rules });
        },
      };
    },
    settle: (timeoutMs = 20_000) => settleSync(database.db, schema, undefined, timeoutMs),
    org: (name) => emulatorOrg(emulator, name),
    auth0User: (email) => emulatorUser(emulator, email),
    ssoUser: (email, opts = {}) => {
      const state = emulator.emulator.state;
      const which = opts.connection ?? 'enterprise';
      const connection = state.connections.get(emulator.connections[which].id);
      if (!connection) throw new Error('emulator connection missing');
      const user = buildUser({ connection, localId: which === 'database' ? randomUUID().replace(/-/g, '').slice(0, 24) : email, email, email_verified: opts.verified ?? true }, new Date().toISOString());
      user.logins_count = 1;
      state.users.set(user.user_id, user);
      return { user_id: user.user_id, identities: user.identities.map((i) => ({ provider: i.provider, user_id: String(i.user_id), connection: i.connection })) };
    },
    autoMember: (orgName, userId) => {
      const org = [...emulator.emulator.state.organizations.values()].find((o) => o.name === orgName);
      if (!org) throw new Error(`no org ${orgName}`);
      if (!org.members.some((m) => m.user_id === userId)) org.members.push({ user_id: userId, roles: [], added_at: 0 });
    },
    connection: (which) => {
      const c = emulator.emulator.state.connections.get(emulator.connections[which].id);
      if (!c) throw new Error('emulator connection missing');
      return { id: c.id, name: c.name, strategy: c.strategy };
    },
    writesSince: (since) => writes().filter((c) => c.seq > since).map((c) => ({ method: c.method, url: c.url })),
    lastSeq: () => emulator.emulator.callLog().at(-1)?.seq ?? 0,
    syncRow: async (tenantId, userId) => {
      const { rows } = await sql<{ status: string; auth0_user_id: string | null }>`select status, auth0_user_id from user_sync where tenant_id = ${tenantId} and user_id = ${userId}`.execute(database.db);
      return rows[0];
    },
  };
}

/** An HS256 token as the Action signs it; `overrides` forge the claims, `secret`/`alg` the signature. */
export function actionToken(body: string, overrides: Record<string, unknown> = {}, options: { secret?: string; alg?: string } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const header = enc({ alg: options.alg ?? 'HS256', typ: 'JWT' });
  const payload = enc({
    iss: ACTION_TOKEN_ISSUER, aud: ACTION_TOKEN_AUDIENCE, iat: now, exp: now + 30, jti: randomUUID(),
    bsh: createHash('sha256').update(body).digest('base64url'), ...overrides,
  });
  const algo = options.alg === 'HS512' ? 'sha512' : options.alg === 'HS384' ? 'sha384' : 'sha256';
  const signature = createHmac(algo, options.secret ?? ACTION_SECRET).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** The body the Action sends, for a user as the emulator holds it. */
export function loginBody(user: { user_id: string; email?: string; email_verified?: boolean; identities: { provider: string; user_id: string; connection: string }[] },
  connection: { id: string; name: string; strategy: string }, organization?: { id: string; name: string }): Record<string, unknown> {
  return {
    user: { user_id: user.user_id, email: user.email ?? null, email_verified: user.email_verified === true, identities: user.identities },
    connection,
    organization: organization ?? null,
    loginsCount: 1,
    clientId: 'client-app',
  };
}

/** Calls the endpoint with a fresh valid token (or the given one). */
export async function postLogin(app: FastifyInstance, body: Record<string, unknown> | string, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await app.inject({
    method: 'POST', url: '/v1/auth0/post-login',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token ?? actionToken(raw)}` },
    payload: raw,
  });
  return { status: res.statusCode, json: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
}
