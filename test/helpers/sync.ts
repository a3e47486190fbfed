import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Auth0Gateway } from '../../src/auth0/gateway.js';
import { startAuth0Emulator, type RunningAuth0Emulator } from '../../src/auth0/emulator/server.js';
import { createTenant } from '../../src/admin/tenants.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { DatabaseHandle } from '../../src/db/client.js';
import { bindTenant } from '../../src/sync/binding.js';
import { queueDirectoryEvents } from '../../src/sync/events.js';
import { SyncQueue } from '../../src/sync/queue.js';
import type { OktaQueue } from '../../src/okta/queue.js';
import { SyncWorker } from '../../src/sync/worker.js';
import { SecretBox } from '../../src/secrets.js';
import type { ScimClient } from './app.js';
import { testDatabase, testJobQueue } from './db.js';
import { emulatorOrg, emulatorUser, settleSync } from './emulator.js';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';

interface TapLike {
  teardown(fn: () => unknown): void;
}

export interface SyncHarness {
  /** The app with SCIM and the admin API wired to this harness's queue and gateway. */
  readonly app: FastifyInstance;
  readonly database: DatabaseHandle;
  readonly scim: ScimClient;
  readonly tenantId: string;
  readonly emulator: RunningAuth0Emulator;
  readonly gateway: Auth0Gateway;
  readonly queue: SyncQueue;
  readonly worker: SyncWorker;
  /** The test-time key sealing binding secrets and password-change tickets. */
  readonly secrets: SecretBox;
  /** PostgreSQL schema of the harness's pg-boss tables (a CLI sharing the database sets QUEUE_SCHEMA to it). */
  readonly queueSchema: string;
  /** Binds the `acme` tenant to the emulator's database connection with these rules. */
  bind(binding?: Record<string, unknown>, rules?: unknown, guard?: unknown): Promise<void>;
  /** Resolves once no sync is pending or running for the tenant (fails after `timeoutMs`). */
  settle(timeoutMs?: number): Promise<void>;
  /** The emulator's org by name, with members and their role names. */
  org(name: string): { id: string; members: Map<string, string[]> } | undefined;
  /** The emulator's user by email. */
  auth0User(email: string): Record<string, unknown> | undefined;
}

/** What a test of the worker itself needs: a database, an emulator, a gateway to it and a queue (no worker, no app). */
export interface WorkerFixture {
  readonly database: DatabaseHandle;
  readonly emulator: RunningAuth0Emulator;
  readonly gateway: Auth0Gateway;
  readonly queue: SyncQueue;
  /** PostgreSQL schema of the queue's pg-boss tables. */
  readonly schema: string;
}

export async function workerFixture(t: TapLike): Promise<WorkerFixture> {
  const database = await testDatabase(t);
  const emulator = await startAuth0Emulator({ plan: 'off' });
  t.teardown(() => emulator.close());
  const gateway = Auth0Gateway.fromSettings({ domain: emulator.domain, clientId: emulator.client.clientId, clientSecret: emulator.client.clientSecret, baseUrl: emulator.baseUrl, plan: 'enterprise' });
  const { queue, schema } = await testJobQueue(t, database);
  return { database, emulator, gateway, queue, schema };
}

/** A real app + database + pg-boss queue + worker, synced into an in-process Auth0 emulator. */
export async function syncHarness(
  t: TapLike,
  options: {
    plan?: 'off' | 'free' | 'essentials' | 'enterprise'; timeoutSeconds?: number; /** Tell the admin API the emulator is the Auth0 tenant (scope check, Action deploy). */ adminAuth0?: boolean; env?: Record<string, string>;
    /** The Okta lane on this harness's queue: the worker chains provisioned users into it (test/helpers/okta.ts). */
    okta?: (boss: SyncQueue['boss']) => Promise<OktaQueue>;
  } = {},
): Promise<SyncHarness & { oktaQueue?: OktaQueue }> {
  const database = await testDatabase(t);
  const emulator = await startAuth0Emulator({ plan: options.plan ?? 'off' });
  t.teardown(() => emulator.close());
  const gateway = Auth0Gateway.fromSettings({
    domain: emulator.domain, clientId: emulator.client.clientId, clientSecret: emulator.client.clientSecret,
    baseUrl: emulator.baseUrl, plan: options.plan === 'off' || !options.plan ? 'enterprise' : options.plan,
    ...(options.timeoutSeconds ? { timeoutSeconds: options.timeoutSeconds } : {}),
  });
  const { queue, schema } = await testJobQueue(t, database);
  const logger = pino({ level: 'silent' });
  // Test-time key for sealing inbound SCIM tokens (src/secrets.ts).
  const secrets = SecretBox.fromKey(randomBytes(32).toString('base64'));
  const oktaQueue = options.okta ? await options.okta(queue.boss) : undefined;
  const worker = new SyncWorker({ db: database.db, queue, gateway, logger, pollMs: 50, secrets, ...(oktaQueue ? { okta: oktaQueue } : {}) });
  const config = loadConfig({ LOG_LEVEL: 'silent', SCIM_TOKEN_CACHE_MS: '0', ...options.env });
  const auth0 = { domain: emulator.domain, clientId: emulator.client.clientId, clientSecret: emulator.client.clientSecret, baseUrl: emulator.baseUrl, plan: 'enterprise' as const };
  const app = await buildApp({ config, database, logger, events: queueDirectoryEvents(queue), queue, gateway, secrets, ...(options.adminAuth0 ? { auth0 } : {}), ...(oktaQueue ? { oktaQueue } : {}) });
  t.teardown(() => app.close());
  const created = await createTenant(database.db, { name: 'acme' });
  const tenantId = created.tenant.id;
  const scim: ScimClient = {
    tenant: 'acme',
    token: created.token,
    request: async (method, path, body, headers = {}) => (await app.inject({
      method, url: `/scim/v2/acme${path}`,
      headers: { authorization: `Bearer ${created.token}`, ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}), ...headers },
      payload: body === undefined ? undefined : JSON.stringify(body),
    })) as never,
    json: async (method, path, body, headers) => {
      const res = await scim.request(method, path, body, headers);
      return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
    },
  };
  worker.start();
  t.teardown(() => worker.stop());

  return {
    app, database, scim, tenantId, emulator, secrets, gateway, queue, worker, queueSchema: schema, ...(oktaQueue ? { oktaQueue } : {}),
    bind: async (binding, rules, guard) => {
      await bindTenant(database.db, queue, tenantId, {
        binding: binding ?? {
          organization: { name: 'acme', displayName: 'Acme Corp' },
          connections: [{ id: emulator.connections.database.id, name: emulator.connections.database.name, mode: 'database' }],
        },
        rules,
        guard,
      }, secrets);
    },
    settle: (timeoutMs = 20_000) => settleSync(database.db, schema, [tenantId], timeoutMs),
    org: (name) => emulatorOrg(emulator, name),
    auth0User: (email) => emulatorUser(emulator, email),
  };
}

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Creates a SCIM user (userName = primary work email) and returns its id. */
export async function scimUser(h: Pick<SyncHarness, 'scim'>, userName: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await h.scim.json('POST', '/Users', { schemas: [USER_SCHEMA], userName, emails: [{ value: userName, type: 'work', primary: true }], name: { givenName: 'G', familyName: userName.split('@')[0] }, ...extra });
  if (res.status !== 201) throw new Error(`POST /Users ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/** Creates a SCIM group with these member ids and returns its id. */
export async function scimGroup(h: Pick<SyncHarness, 'scim'>, displayName: string, members: string[], externalId?: string): Promise<string> {
  const res = await h.scim.json('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName, ...(externalId ? { externalId } : {}), members: members.map((value) => ({ value })) });
  if (res.status !== 201) throw new Error(`POST /Groups ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/** Sets a SCIM user's `active` flag through PATCH. */
export async function setActive(h: Pick<SyncHarness, 'scim'>, id: string, active: boolean): Promise<void> {
  const res = await h.scim.json('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: active }] });
  if (res.status !== 200 && res.status !== 204) throw new Error(`PATCH /Users/${id} ${res.status}: ${JSON.stringify(res.body)}`);
}

/**
 * The official SDK pointed at the harness's emulator ("the Auth0 dashboard", behind Provisio's back).
 * Imported here on demand, as Provisio does (src/auth0/sdk.ts), so a test that never calls Auth0 does not load it.
 */
export async function managementClient(emulator: RunningAuth0Emulator) {
  const { createManagementClient } = await import('../../src/auth0/client.js');
  return createManagementClient({
    domain: emulator.domain, clientId: emulator.client.clientId, clientSecret: emulator.client.clientSecret, baseUrl: emulator.baseUrl, plan: 'enterprise',
  });
}

/** Creates Auth0 roles through the SDK. */
export async function createRoles(emulator: RunningAuth0Emulator, ...names: string[]): Promise<void> {
  const client = await managementClient(emulator);
  for (const name of names) await client.roles.create({ name });
}

/** The user_sync row of a directory user. */
export async function userSyncRow(h: Pick<SyncHarness, 'database' | 'tenantId'>, userId: string): Promise<{ status: string; auth0_user_id: string | null; applied: Record<string, unknown> | null; last_error: string | null } | undefined> {
  const { rows } = await sql<{ status: string; auth0_user_id: string | null; applied: Record<string, unknown> | null; last_error: string | null }>`
    select status, auth0_user_id, applied, last_error from user_sync where tenant_id = ${h.tenantId} and user_id = ${userId}`.execute(h.database.db);
  return rows[0];
}
