/**
 * Initial-import benchmark for the Auth0 sync (issue 6): N users in G groups with role rules, bound to
 * the in-process Auth0 emulator on a chosen plan, drained by the real worker. Reports wall time, Auth0
 * calls per user, the floor the plan's rate limits allow for exactly those calls, failed jobs, 429s,
 * and SCIM GET latency while the import drains. Not a test; run by hand:
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/sync-import.ts --users 1000 --groups 100
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { pino } from 'pino';
import { createTenant } from '../src/admin/tenants.js';
import { buildApp } from '../src/app.js';
import { createManagementClient } from '../src/auth0/client.js';
import { startAuth0Emulator } from '../src/auth0/emulator/server.js';
import { Auth0Gateway } from '../src/auth0/gateway.js';
import { PLAN_RATES } from '../src/auth0/rate-budget.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { bindTenant } from '../src/sync/binding.js';
import { queueDirectoryEvents } from '../src/sync/events.js';
import { SyncQueue } from '../src/sync/queue.js';
import { SyncWorker } from '../src/sync/worker.js';

const { values: a } = parseArgs({ options: { users: { type: 'string', default: '1000' }, groups: { type: 'string', default: '100' }, plan: { type: 'string', default: 'enterprise' } } });
const users = Number(a.users);
const groups = Number(a.groups);
const plan = a.plan as 'enterprise' | 'essentials' | 'free';
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `bench_${randomBytes(4).toString('hex')}`;

const admin = await openDatabase({ databaseUrl: url, poolMax: 1 });
await sql`create schema ${sql.id(schema)}`.execute(admin.db);
await admin.close();
const database = await openDatabase({ databaseUrl: url, searchPath: schema, poolMax: 10 });
await migrateToLatest(database.db, schema);
const emulator = await startAuth0Emulator({ plan });
const client = createManagementClient({ domain: emulator.domain, clientId: emulator.client.clientId, clientSecret: emulator.client.clientSecret, baseUrl: emulator.baseUrl, plan: 'enterprise' });
for (const name of ['admin', 'member', 'viewer']) await client.roles.create({ name });

const { tenant, token } = await createTenant(database.db, { name: 'bench' });
await sql`insert into users (tenant_id, id, user_name, active, email, data)
  select ${tenant.id}, gen_random_uuid(), 'user' || n || '@bench.test', true, 'user' || n || '@bench.test',
    jsonb_build_object('userName', 'user' || n || '@bench.test', 'emails', jsonb_build_array(jsonb_build_object('value', 'user' || n || '@bench.test', 'primary', true)))
  from generate_series(1, ${users}) n`.execute(database.db);
await sql`insert into groups (tenant_id, id, display_name, data)
  select ${tenant.id}, gen_random_uuid(), 'group-' || n, jsonb_build_object('displayName', 'group-' || n) from generate_series(1, ${groups}) n`.execute(database.db);
// Each user in one group, round-robin.
await sql`insert into group_members (tenant_id, group_id, member_id, member_type)
  select ${tenant.id}, g.id, u.id, 'User' from (select id, row_number() over (order by id) - 1 as i from users where tenant_id = ${tenant.id}) u
  join (select id, row_number() over (order by id) - 1 as j from groups where tenant_id = ${tenant.id}) g on g.j = u.i % ${groups}`.execute(database.db);

const roles = ['admin', 'member', 'viewer'];
const rules = { rules: Array.from({ length: groups }, (_, j) => ({ id: `r${j}`, match: { by: 'displayName', value: `group-${j + 1}` }, grant: { orgRoles: [roles[j % 3]], tenantRoles: [], organizations: [] } })) };
const gateway = Auth0Gateway.fromSettings({ domain: emulator.domain, clientId: emulator.client.clientId, clientSecret: emulator.client.clientSecret, baseUrl: emulator.baseUrl, plan });
const queue = await SyncQueue.start(database.pool, { schema: `${schema}_boss`, retryLimit: 8, expireInSeconds: 300 });
const logger = pino({ level: 'warn' });
const worker = new SyncWorker({ db: database.db, queue, gateway, logger, tenantConcurrency: 20 });
const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent' }), database, logger: pino({ level: 'silent' }), events: queueDirectoryEvents(queue) });
emulator.emulator.clearCallLog();

const started = Date.now();
await bindTenant(database.db, queue, tenant.id, { binding: { organization: { name: 'bench' }, connections: [{ id: emulator.connections.database.id, name: emulator.connections.database.name, mode: 'database' }] }, rules });
worker.start();

// SCIM latency while the import drains: GET by id, sequential, sampled.
const sample = (await sql<{ id: string }>`select id from users where tenant_id = ${tenant.id} limit 50`.execute(database.db)).rows.map((r) => r.id);
const latencies: number[] = [];
let pending = users;
while (pending > 0) {
  for (const id of sample.slice(0, 10)) {
    const t0 = performance.now();
    await app.inject({ url: `/scim/v2/bench/Users/${id}`, headers: { authorization: `Bearer ${token}` } });
    latencies.push(performance.now() - t0);
  }
  const { rows } = await sql<{ n: string }>`select count(*) as n from user_sync where tenant_id = ${tenant.id} and status <> 'synced'`.execute(database.db);
  pending = Number(rows[0]?.n ?? 0);
  if (Date.now() - started > 60 * 60_000) break;
  await new Promise((r) => setTimeout(r, 500));
}
const wall = (Date.now() - started) / 1000;
await worker.stop();

const calls = emulator.emulator.callLog().filter((c) => c.operation !== 'POST /oauth/token');
const byStatus = new Map<number, number>();
for (const c of calls) byStatus.set(c.status, (byStatus.get(c.status) ?? 0) + 1);
const ok = calls.filter((c) => c.status < 400);
// Floor: the slowest bucket for the calls the planner chose, from the plan's published (burst, per second) rates.
const rates = PLAN_RATES[plan as 'enterprise'];
const endpointBucket = (op = ''): string | undefined => {
  if (/^(POST|DELETE) \/organizations\/\{id\}\/members\/\{user_id\}\/roles$/.test(op)) return 'write_org_member_roles';
  if (/^GET \/organizations\/\{id\}\/members\/\{user_id\}\/roles$/.test(op)) return 'read_org_member_roles';
  if (/^(POST|DELETE) \/organizations\/\{id\}\/members$/.test(op)) return 'write_org_members';
  if (/^GET \/users\/\{id\}\/organizations$/.test(op)) return 'read_user_orgs';
  if (/^(POST|PATCH|DELETE) \/users/.test(op)) return 'write_users';
  if (/^GET \/users/.test(op)) return 'read_users';
  return undefined;
};
const perBucket = new Map<string, number>();
for (const c of ok) {
  if (rates.global) perBucket.set('global', (perBucket.get('global') ?? 0) + 1);
  const b = endpointBucket(c.operation);
  const known = b && (rates.endpoints as Record<string, unknown>)[b] ? b : rates.global ? undefined : 'other';
  if (known) perBucket.set(known, (perBucket.get(known) ?? 0) + 1);
}
let floor = 0;
for (const [b, n] of perBucket) {
  const r = b === 'global' ? rates.global : (rates.endpoints as Record<string, { burst: number; perSecond: number } | undefined>)[b];
  if (r) floor = Math.max(floor, Math.max(0, n - r.burst) / r.perSecond);
}
const failed = (await sql<{ n: string }>`select count(*) as n from user_sync where tenant_id = ${tenant.id} and status = 'failed'`.execute(database.db)).rows[0]?.n;
latencies.sort((x, y) => x - y);
const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]?.toFixed(2);
console.log(JSON.stringify({
  users, groups, plan, wallSeconds: wall, auth0Calls: ok.length, callsPerUser: +(ok.length / users).toFixed(2),
  callsByBucket: Object.fromEntries(perBucket), floorSeconds: +floor.toFixed(1), overFloor: floor ? `${((wall / floor - 1) * 100).toFixed(1)}%` : null,
  statuses: Object.fromEntries(byStatus), failedUsers: Number(failed), workerFailedAttempts: worker.counts.failed,
  scimGetDuringImportMs: { p50: pct(0.5), p99: pct(0.99), n: latencies.length },
}, null, 1));
await app.close();
await queue.stop();
await emulator.close();
await sql`drop schema ${sql.id(schema)} cascade; drop schema if exists ${sql.id(`${schema}_boss`)} cascade`.execute(database.db).catch(() => undefined);
await database.close();
