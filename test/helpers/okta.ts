/**
 * An Auth0 sync harness (test/helpers/sync.ts) with the Okta mirror beside it: the in-process Okta emulator,
 * the Okta lane on the harness's job queue, its runtime and worker, and the official Okta SDK pointed at the
 * emulator for reading its state back ("the Okta admin console").
 */
import okta from '@okta/okta-sdk-nodejs';
import { sql } from 'kysely';
import { pino } from 'pino';
import { bindOkta } from '../../src/okta/bind.js';
import { startOktaEmulator, type RunningOktaEmulator } from '../../src/okta/emulator/server.js';
import { OktaQueue } from '../../src/okta/queue.js';
import { OktaRuntime } from '../../src/okta/runtime.js';
import type { OktaRateLimits } from '../../src/okta/emulator/rate-limit.js';
import { syncHarness, type SyncHarness } from './sync.js';

/** The group rules the mirror tests bind with: one group matched by externalId, one by displayName. */
export const OKTA_TEST_RULES = [
  { id: 'eng', match: { by: 'externalId', value: 'grp-eng' }, oktaGroup: { name: 'Engineering (from Acme)' } },
  { id: 'sales', match: { by: 'displayName', value: 'Sales' }, oktaGroup: { name: 'Sales (from Acme)' } },
];

interface TapLike {
  teardown(fn: () => unknown): void;
}

export interface OktaHarness extends SyncHarness {
  readonly okta: RunningOktaEmulator;
  readonly oktaQueue: OktaQueue;
  readonly runtime: OktaRuntime;
  /** The SDK on the emulator, as an Okta admin would see the org. */
  readonly sdk: okta.Client;
  /** Binds acme to Auth0 (if not yet) and to the Okta emulator with this document (orgUrl and token filled in). */
  bindOkta(document?: Record<string, unknown>, auth0Binding?: Record<string, unknown>): Promise<void>;
  /** Resolves once neither the Auth0 sync nor the Okta mirror has anything pending or running. */
  settleAll(timeoutMs?: number): Promise<void>;
  /** Okta users by login (lower-case), through the SDK. */
  oktaUsers(): Promise<Map<string, { id: string; status: string; profile: Record<string, unknown> }>>;
  /** Group names of an Okta user (Everyone left out), through the SDK. */
  oktaGroupsOf(userId: string): Promise<string[]>;
}

export async function oktaHarness(t: TapLike, options: { rateLimits?: OktaRateLimits; rateWindowMs?: number; plan?: 'off' | 'essentials' | 'enterprise'; env?: Record<string, string>; /** One Okta request's timeout (default 5 s). */ timeoutMs?: number } = {}): Promise<OktaHarness> {
  const emu = await startOktaEmulator({ ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}), ...(options.rateWindowMs ? { rateWindowMs: options.rateWindowMs } : {}) });
  t.teardown(() => emu.close());
  const h = await syncHarness(t, { ...(options.plan ? { plan: options.plan } : {}), ...(options.env ? { env: options.env } : {}), okta: (boss) => OktaQueue.start(boss, { retryLimit: 5, expireInSeconds: 30 }) });
  const oktaQueue = h.oktaQueue!;
  const runtime = new OktaRuntime({
    db: h.database.db, queue: oktaQueue, auth0: h.gateway, logger: pino({ level: process.env.OKTA_TEST_LOG ?? 'silent' }), secrets: h.secrets, production: false,
    settings: { concurrency: 8, tenantConcurrency: 4, timeoutMs: options.timeoutMs ?? 5_000, rateReserve: 0 },
    gatewayTuning: { maxRateWaitMs: 10_000 }, unboundPollMs: 100, history: h.worker.history,
  });
  runtime.start();
  t.teardown(() => runtime.stop());
  const sdk = new okta.Client({ orgUrl: emu.baseUrl, token: emu.token, cacheMiddleware: null, requestExecutor: new okta.DefaultRequestExecutor({ maxRetries: 3, requestTimeout: 0 }) } as never);
  let auth0Bound = false;
  const settleAll = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await h.settle(Math.max(1000, deadline - Date.now()));
      const { rows } = await sql<{ n: string }>`select count(*) as n from okta_mirror where tenant_id = ${h.tenantId} and status = 'pending'`.execute(h.database.db);
      const { rows: jobs } = await sql<{ n: string }>`select count(*) as n from ${sql.table(`${h.queueSchema}.job`)}
        where name in ('okta', 'sync') and state in ('created', 'retry', 'active')`.execute(h.database.db);
      if (Number(rows[0]?.n) === 0 && Number(jobs[0]?.n) === 0) return;
      if (Date.now() > deadline) throw new Error(`okta mirror did not settle: ${rows[0]?.n} pending, ${jobs[0]?.n} jobs`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return {
    ...h, okta: emu, oktaQueue, runtime, sdk, settleAll,
    bindOkta: async (document = {}, auth0Binding?: Record<string, unknown>) => {
      if (!auth0Bound) {
        await h.bind(auth0Binding);
        auth0Bound = true;
      }
      await bindOkta(h.database.db, oktaQueue, h.tenantId, { orgUrl: emu.baseUrl, auth: { method: 'api-token', token: emu.token }, ...document }, { secrets: h.secrets });
    },
    oktaUsers: async () => {
      const users = new Map<string, { id: string; status: string; profile: Record<string, unknown> }>();
      for await (const u of await sdk.userApi.listUsers({ search: 'status eq "ACTIVE" or status eq "DEPROVISIONED" or status eq "STAGED" or status eq "PROVISIONED"' })) {
        if (u) users.set(String(u.profile?.login).toLowerCase(), { id: u.id!, status: String(u.status), profile: { ...(u.profile as object) } as Record<string, unknown> });
      }
      return users;
    },
    oktaGroupsOf: async (userId) => {
      const names: string[] = [];
      for await (const g of await sdk.userApi.listUserGroups({ userId })) if (g && String(g.type) !== 'BUILT_IN') names.push(g.profile!.name!);
      return names.sort();
    },
  };
}
