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
import { SyncWorker } from '../../src/sync/worker.js';
import type { ScimClient } from './app.js';
import { testDatabase } from './db.js';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';

interface TapLike {
  teardown(fn: () => unknown): void;
}

export interface SyncHarness {
  readonly database: DatabaseHandle;
  readonly scim: ScimClient;
  readonly tenantId: string;
  readonly emulator: RunningAuth0Emulator;
  readonly gateway: Auth0Gateway;
  readonly queue: SyncQueue;
  readonly worker: SyncWorker;
  /** Binds the `acme` tenant to the emulator's database connection with these rules. */
  bind(binding?: Record<string, unknown>, rules?: unknown, guard?: unknown): Promise<void>;
  /** Resolves once no sync is pending or running for the tenant (fails after `timeoutMs`). */
  settle(timeoutMs?: number): Promise<void>;
  /** The emulator's org by name, with members and their role names. */
  org(name: string): { id: string; members: Map<string, string[]> } | undefined;
  /** The emulator's user by email. */
  auth0User(email: string): Record<string, unknown> | undefined;
}

/** A real app + database + pg-boss queue + worker, synced into an in-process Auth0 emulator. */
export async function syncHarness(t: TapLike, options: { plan?: 'off' | 'free' | 'essentials' | 'enterprise' } = {}): Promise<SyncHarness> {
  const database = await testDatabase(t);
  const emulator = await startAuth0Emulator({ plan: options.plan ?? 'off' });
  t.teardown(() => emulator.close());
  const gateway = Auth0Gateway.fromSettings({
    domain: emulator.domain, clientId: emulator.client.clientId, clientSecret: emulator.client.clientSecret,
    baseUrl: emulator.baseUrl, plan: options.plan === 'off' || !options.plan ? 'enterprise' : options.plan,
  });
  const schema = `boss_${randomBytes(5).toString('hex')}`;
  const queue = await SyncQueue.start(database.pool, { schema, retryLimit: 3, expireInSeconds: 30 });
  t.teardown(async () => {
    await queue.stop();
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(database.db).catch(() => undefined);
  });
  const logger = pino({ level: 'silent' });
  const worker = new SyncWorker({ db: database.db, queue, gateway, logger, pollMs: 50 });
  const config = loadConfig({ LOG_LEVEL: 'silent', SCIM_TOKEN_CACHE_MS: '0' });
  const app = await buildApp({ config, database, logger, events: queueDirectoryEvents(queue) });
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
    database, scim, tenantId, emulator, gateway, queue, worker,
    bind: async (binding, rules, guard) => {
      await bindTenant(database.db, queue, tenantId, {
        binding: binding ?? {
          organization: { name: 'acme', displayName: 'Acme Corp' },
          connections: [{ id: emulator.connections.database.id, name: emulator.connections.database.name, mode: 'database' }],
        },
        rules,
        guard,
      });
    },
    settle: async (timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await sql<{ n: string }>`select count(*) as n from user_sync where tenant_id = ${tenantId} and status in ('pending')`.execute(database.db);
        const queued = await queue.boss.getQueue(`sync-${tenantId}`).catch(() => null);
        const busy = queued ? (queued.queuedCount ?? 0) + (queued.activeCount ?? 0) : 0;
        if (Number(rows[0]?.n ?? 0) === 0 && busy === 0) return;
        if (Date.now() > deadline) throw new Error(`sync did not settle: ${rows[0]?.n} pending, ${busy} queued/active`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    org: (name) => {
      const state = emulator.emulator.snapshot();
      const org = state.organizations.find((o) => o.name === name);
      if (!org) return undefined;
      const roleName = new Map(state.roles.map((r) => [r.id, r.name]));
      return { id: org.id, members: new Map(org.members.map((m) => [m.user_id, m.roles.map((r) => roleName.get(r) ?? r).sort()])) };
    },
    auth0User: (email) => emulator.emulator.snapshot().users.find((u) => u.email === email) as Record<string, unknown> | undefined,
  };
}
