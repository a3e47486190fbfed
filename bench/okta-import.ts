/**
 * Initial-import benchmark of both sinks (issue 18): N users in G groups, bound to the in-process Auth0
 * emulator (plan `enterprise` by default) and mirrored into the in-process Okta emulator with Okta's
 * per-minute rate limits. The Auth0 worker chains every provisioned user into the Okta lane. Reports the
 * wall time until every user is synced in Auth0 and mirrored in Okta, the calls made to each, the floor
 * each sink's rate limits allow for exactly those calls, failed jobs, Okta 429s and rate waits, and one
 * user per directory user on both sides. Not a test; run by hand:
 *   npx tsx bench/okta-import.ts --users 1000 --groups 10
 *   npx tsx bench/okta-import.ts --users 100 --okta-window-ms 5000   # quick: 5 s windows, same budgets
 *
 * Okta's budgets: developer.okta.com/docs/reference/rl-global-mgmt ("Management rate limits", requests per
 * minute, Workforce Identity column — the emulator's OKTA_DEFAULT_LIMITS):
 *   users  600  Create or list users: only GET or POST to /api/v1/users
 *   user   600  Update or delete a user by ID: POST, PUT or DELETE to /api/v1/users/{id} (the emulator also
 *               charges GET /api/v1/users/{idOrLogin} here; Okta's table gives that GET its own 2,000)
 *   groups 500  Create or list groups: /api/v1/groups except /api/v1/groups/{id} (member adds
 *               PUT /api/v1/groups/{id}/users/{userId} fall here; the emulator charges all of /api/v1/groups*)
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { pino } from 'pino';
import { createTenant } from '../src/admin/tenants.js';
import { createManagementClient } from '../src/auth0/client.js';
import { startAuth0Emulator } from '../src/auth0/emulator/server.js';
import { Auth0Gateway } from '../src/auth0/gateway.js';
import { PLAN_RATES } from '../src/auth0/rate-budget.js';
import { openDatabase } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { bindOkta } from '../src/okta/bind.js';
import { startOktaEmulator } from '../src/okta/emulator/server.js';
import type { OktaRateBucket } from '../src/okta/emulator/rate-limit.js';
import type { OktaCall } from '../src/okta/gateway.js';
import { OktaQueue } from '../src/okta/queue.js';
import { OktaRuntime } from '../src/okta/runtime.js';
import { SecretBox } from '../src/secrets.js';
import { bindTenant } from '../src/sync/binding.js';
import { SyncQueue } from '../src/sync/queue.js';
import { SyncWorker } from '../src/sync/worker.js';

const { values: a } = parseArgs({
  options: {
    users: { type: 'string', default: '1000' }, groups: { type: 'string', default: '10' }, plan: { type: 'string', default: 'enterprise' },
    'okta-window-ms': { type: 'string', default: '60000' }, reserve: { type: 'string', default: '0.1' }, 'timeout-min': { type: 'string', default: '20' },
    /** `start`: both bound at t=0 (Okta chained from Auth0 outcomes); `after-auth0`: Okta bound once Auth0 is done (the binding queues everyone). */
    'okta-bind': { type: 'string', default: 'start' },
  },
});
const users = Number(a.users);
const groups = Number(a.groups);
const plan = a.plan as 'enterprise' | 'essentials' | 'free';
const windowMs = Number(a['okta-window-ms']);
const reserve = Number(a.reserve);
const timeoutMs = Number(a['timeout-min']) * 60_000;
const oktaBindAt = a['okta-bind'] === 'after-auth0' ? 'after-auth0' : 'start';
/** Okta's per-minute budgets (see the header), one window of `windowMs`. */
const OKTA_LIMITS: Record<OktaRateBucket, number> = { users: 600, user: 600, groups: 500 };
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `bench_${randomBytes(4).toString('hex')}`;
const log = (line: string) => process.stderr.write(`${line}\n`);

const admin = await openDatabase({ databaseUrl: url, poolMax: 1 });
await sql`create schema ${sql.id(schema)}`.execute(admin.db);
await admin.close();
const database = await openDatabase({ databaseUrl: url, searchPath: schema, poolMax: 10 });
await migrateToLatest(database.db, schema);
const emulator = await startAuth0Emulator({ plan });
const client = createManagementClient({ domain: emulator.domain, clientId: emulator.client.clientId, clientSecret: emulator.client.clientSecret, baseUrl: emulator.baseUrl, plan: 'enterprise' });
for (const name of ['admin', 'member', 'viewer']) await client.roles.create({ name });
const okta = await startOktaEmulator({ rateLimits: OKTA_LIMITS, rateWindowMs: windowMs });

const { tenant } = await createTenant(database.db, { name: 'bench' });
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
const groupRules = Array.from({ length: groups }, (_, j) => ({ id: `o${j + 1}`, match: { by: 'displayName', value: `group-${j + 1}` }, oktaGroup: { name: `okta-group-${j + 1}` } }));
const secrets = SecretBox.fromKey(randomBytes(32).toString('base64'));
const gateway = Auth0Gateway.fromSettings({ domain: emulator.domain, clientId: emulator.client.clientId, clientSecret: emulator.client.clientSecret, baseUrl: emulator.baseUrl, plan });
const queue = await SyncQueue.start(database.pool, { schema: `${schema}_boss`, retryLimit: 8, expireInSeconds: 300 });
const oktaQueue = await OktaQueue.start(queue.boss, { retryLimit: 8, expireInSeconds: 300 });
const logger = pino({ level: 'warn' }, pino.destination(2));
const worker = new SyncWorker({ db: database.db, queue, gateway, logger, tenantConcurrency: 20, secrets, okta: oktaQueue });
const oktaCalls: (OktaCall & { at: number })[] = [];
const runtime = new OktaRuntime({
  db: database.db, queue: oktaQueue, auth0: gateway, logger, secrets, production: false,
  // The OKTA_* defaults of src/config.ts.
  settings: { concurrency: 10, tenantConcurrency: 4, timeoutMs: 15_000, rateReserve: reserve },
  onCall: (call) => oktaCalls.push({ ...call, at: Date.now() }),
  // Measure the mirror from its binding, not the idle lane's 5 s look for a first binding.
  unboundPollMs: 100,
});
emulator.emulator.clearCallLog();
okta.calls.clear();

const started = Date.now();
await bindTenant(database.db, queue, tenant.id, { binding: { organization: { name: 'bench' }, connections: [{ id: emulator.connections.database.id, name: emulator.connections.database.name, mode: 'database' }] }, rules }, secrets);
const bindTheOkta = async () => {
  await bindOkta(database.db, oktaQueue, tenant.id, { orgUrl: okta.baseUrl, auth: { method: 'api-token', token: okta.token }, groupRules }, { secrets });
  return Date.now();
};
let oktaBound = oktaBindAt === 'start' ? await bindTheOkta() : undefined;
worker.start();
runtime.start();

const count = async (table: 'user_sync' | 'okta_mirror', status: string) =>
  Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)} where tenant_id = ${tenant.id} and status = ${status}`.execute(database.db)).rows[0]?.n ?? 0);
let auth0Done: number | undefined;
let oktaDone: number | undefined;
let lastReport = 0;
let timedOut = false;
while (auth0Done === undefined || oktaDone === undefined) {
  const now = Date.now();
  const synced = await count('user_sync', 'synced');
  const mirrored = await count('okta_mirror', 'mirrored');
  if (auth0Done === undefined && synced >= users) auth0Done = now;
  if (oktaBound === undefined && auth0Done !== undefined) oktaBound = await bindTheOkta();
  if (oktaDone === undefined && mirrored >= users) oktaDone = now;
  if (now - lastReport >= 10_000) {
    lastReport = now;
    log(`t=${((now - started) / 1000).toFixed(0)}s auth0 synced ${synced}/${users}, okta mirrored ${mirrored}/${users}, okta calls ${oktaCalls.length}, 429s ${runtime.rateCounts().throttled}, waits ${runtime.rateCounts().waits}`);
  }
  if (now - started > timeoutMs) {
    timedOut = true;
    log(`stopped after ${timeoutMs / 60_000} min: auth0 synced ${synced}/${users}, okta mirrored ${mirrored}/${users}`);
    break;
  }
  await new Promise((r) => setTimeout(r, 250));
}
const seconds = (t: number | undefined) => (t === undefined ? null : (t - started) / 1000);
await runtime.stop();
await worker.stop();

// Auth0: the calls the sync made, and the link PATCHes the Okta lane made (app_metadata.okta_user_id).
const auth0Log = emulator.emulator.callLog().filter((c) => c.operation !== 'POST /oauth/token');
// The emulator keeps the last 10,000 calls: a full log means the counts below are short.
const auth0Truncated = emulator.emulator.callLog().length >= 10_000;
const isLink = (body: unknown) => typeof body === 'object' && body !== null && 'app_metadata' in body && typeof (body as { app_metadata: unknown }).app_metadata === 'object' && 'okta_user_id' in ((body as { app_metadata: object }).app_metadata ?? {});
const auth0Ok = auth0Log.filter((c) => c.status < 400);
const auth0Links = auth0Ok.filter((c) => c.operation?.startsWith('PATCH /users') && isLink(c.body)).length;
const auth0Statuses = new Map<number, number>();
for (const c of auth0Log) auth0Statuses.set(c.status, (auth0Statuses.get(c.status) ?? 0) + 1);

// Auth0 floor (as bench/sync-import.ts): the slowest bucket for these calls at the plan's (burst, per second).
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
function auth0Floor(calls: typeof auth0Ok): { floor: number; perBucket: Record<string, number> } {
  const perBucket = new Map<string, number>();
  for (const c of calls) {
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
  return { floor, perBucket: Object.fromEntries(perBucket) };
}
// Until every user was synced: the sync's calls and the link PATCHes that shared the budget meanwhile.
const auth0Until = auth0Done === undefined ? auth0Ok : auth0Ok.filter((c) => Date.parse(c.at) <= auth0Done!);
const auth0 = auth0Floor(auth0Until);

// Okta: every request as the runtime saw it, by the emulator's bucket and by operation.
const bucketOf = (u: string): OktaRateBucket | 'other' => {
  const path = new URL(u).pathname;
  if (path.startsWith('/api/v1/groups')) return 'groups';
  if (/^\/api\/v1\/users\/?$/.test(path)) return 'users';
  if (path.startsWith('/api/v1/users/')) return 'user';
  return 'other';
};
const operationOf = (c: OktaCall) => `${c.method} ${new URL(c.url).pathname.replace(/\/(users|groups)\/[^/]+/g, '/$1/{id}')}`;
const oktaByBucket: Record<string, number> = {};
const oktaByOperation: Record<string, number> = {};
const oktaStatuses: Record<string, number> = {};
for (const c of oktaCalls) {
  // A 429 (or no answer) is not counted against the window by Okta: the floor counts what was admitted.
  if (c.status !== 429 && c.status !== 0) oktaByBucket[bucketOf(c.url)] = (oktaByBucket[bucketOf(c.url)] ?? 0) + 1;
  oktaByOperation[operationOf(c)] = (oktaByOperation[operationOf(c)] ?? 0) + 1;
  oktaStatuses[c.status] = (oktaStatuses[c.status] ?? 0) + 1;
}
// Floor: per bucket, the calls beyond the first window's allowance at `limit` per window; the slowest bucket.
// With the reserve the mirror itself spends only limit - floor(limit * reserve) per window.
let oktaFloor = 0;
let oktaReserveFloor = 0;
for (const [bucket, limit] of Object.entries(OKTA_LIMITS)) {
  const n = oktaByBucket[bucket] ?? 0;
  const usable = limit - Math.floor(limit * reserve);
  oktaFloor = Math.max(oktaFloor, (Math.max(0, n - limit) / limit) * (windowMs / 1000));
  oktaReserveFloor = Math.max(oktaReserveFloor, (Math.max(0, n - usable) / usable) * (windowMs / 1000));
}

// One user each side per directory user.
const auth0Users = emulator.emulator.snapshot().users.filter((u) => String((u as { email?: unknown }).email ?? '').endsWith('@bench.test'));
const auth0Linked = auth0Users.filter((u) => typeof ((u as { app_metadata?: Record<string, unknown> }).app_metadata ?? {}).okta_user_id === 'string').length;
const oktaUsers = [...okta.state.users.values()];
const oktaLogins = new Set(oktaUsers.map((u) => String(u.profile.login).toLowerCase()));
const oktaGroups = [...okta.state.groups.values()].filter((g) => g.type === 'OKTA_GROUP');
const failedSync = await count('user_sync', 'failed');
const failedMirror = await count('okta_mirror', 'failed');
const auth0Wall = seconds(auth0Done);
// From the Okta binding (t=0 unless --okta-bind after-auth0).
const oktaWall = oktaDone === undefined || oktaBound === undefined ? null : (oktaDone - oktaBound) / 1000;
const oktaLag = oktaDone === undefined || auth0Done === undefined ? null : (oktaDone - auth0Done) / 1000;
const rc = runtime.rateCounts();
const ratio = (wall: number | null, floor: number) => (wall !== null && floor > 0 ? +(wall / floor).toFixed(2) : null);

const result = {
  users, groups, plan, oktaWindowMs: windowMs, reserve, oktaBind: oktaBindAt, timedOut,
  auth0: {
    wallSeconds: auth0Wall, calls: auth0Ok.length, callsUntilSynced: auth0Until.length, syncCallsPerUser: +((auth0Ok.length - auth0Links) / users).toFixed(2), oktaLinkPatches: auth0Links,
    callsByBucketUntilSynced: auth0.perBucket, floorSeconds: +auth0.floor.toFixed(1), wallOverFloor: ratio(auth0Wall, auth0.floor),
    statuses: Object.fromEntries(auth0Statuses), failedJobs: worker.counts.failed, failedUsers: failedSync, users: auth0Users.length, linkedToOkta: auth0Linked,
    callLogTruncated: auth0Truncated,
  },
  okta: {
    wallSeconds: oktaWall, sinceStartSeconds: seconds(oktaDone), lagAfterAuth0Seconds: oktaLag, calls: oktaCalls.length, callsPerUser: +(oktaCalls.length / users).toFixed(2), callsByBucket: oktaByBucket, callsByOperation: oktaByOperation,
    floorSeconds: +oktaFloor.toFixed(1), wallOverFloor: ratio(oktaWall, oktaFloor), floorWithReserveSeconds: +oktaReserveFloor.toFixed(1), wallOverReserveFloor: ratio(oktaWall, oktaReserveFloor),
    statuses: oktaStatuses, throttled429: rc.throttled, rateWaits: rc.waits, failedJobs: runtime.worker.counts.failed, failedUsers: failedMirror,
    users: oktaUsers.length, distinctLogins: oktaLogins.size, groups: oktaGroups.length, emulatorCalls: okta.calls.list().length,
  },
};
const row = (sink: string, wall: number | null, calls: number, floor: number, r: number | null, failed: number, extra: string, count: number) =>
  `${sink.padEnd(6)} ${String(wall ?? '—').padStart(8)} ${String(calls).padStart(6)} ${(calls / users).toFixed(2).padStart(9)} ${floor.toFixed(1).padStart(8)} ${String(r ?? '—').padStart(6)} ${String(failed).padStart(6)} ${extra.padEnd(17)} ${String(count).padStart(6)}`;
console.log(`${'sink'.padEnd(6)} ${'wall s'.padStart(8)} ${'calls'.padStart(6)} ${'calls/usr'.padStart(9)} ${'floor s'.padStart(8)} ${'ratio'.padStart(6)} ${'failed'.padStart(6)} ${'429s / waits'.padEnd(17)} ${'users'.padStart(6)}`);
console.log(row('auth0', auth0Wall, auth0Until.length, auth0.floor, ratio(auth0Wall, auth0.floor), worker.counts.failed, `${auth0Statuses.get(429) ?? 0}`, auth0Users.length));
console.log(row('okta', oktaWall, oktaCalls.length, oktaFloor, ratio(oktaWall, oktaFloor), runtime.worker.counts.failed, `${rc.throttled} / ${rc.waits}`, oktaUsers.length));
console.log(`okta wall counted from its binding (${oktaBindAt === 'start' ? 't=0' : 'once Auth0 was done'}); mirrored ${oktaLag ?? '—'} s after Auth0 was done; okta floor with the ${reserve} reserve ${oktaReserveFloor.toFixed(1)} s`);
const ok = !timedOut && worker.counts.failed === 0 && runtime.worker.counts.failed === 0 && auth0Users.length === users && oktaUsers.length === users && oktaLogins.size === users;
console.log(ok ? 'checks: ok (no failed jobs, one Auth0 user and one Okta user per directory user)' : 'checks: FAILED (see the JSON)');
console.log(JSON.stringify(result));

await queue.stop();
await emulator.close();
await okta.close();
await sql`drop schema ${sql.id(schema)} cascade; drop schema if exists ${sql.id(`${schema}_boss`)} cascade`.execute(database.db).catch(() => undefined);
await database.close();
