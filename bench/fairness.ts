/**
 * Fairness between tenants (issue 15): tenant `big` is bound with N users already in its directory (the
 * initial import: N sync jobs) while tenant `small` gets one SCIM change (POST /Users) every `--interval`
 * ms. Measures, for each change, the time from the SCIM write until it is applied: the user's membership
 * in the emulator (`added_at` of the org member: Auth0's view) and `user_sync.synced_at` (Provisio's), with
 * p50/p95, how many import jobs finished in between ("a few jobs" is the issue's bound), and the split of
 * each change into waiting in the queue (pg-boss created_on → started_on) and running. Runs the real
 * SyncWorker and queue against the in-process Auth0 emulator (plan `enterprise` by default), the SCIM app
 * through `inject()`, like bench/sync-import.ts. Not a test; run by hand (it creates and drops a database
 * `provisio_fairness_<random>` on the server DATABASE_URL names):
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/fairness.ts --users 10000 --changes 15
 * Worker settings follow serve's defaults (--concurrency 50 --tenant-concurrency 10). The same file runs
 * unchanged from an older checkout (a worktree with this file copied into bench/), whose worker ignores
 * the two settings.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { createTenant } from '../src/admin/tenants.js';
import { buildApp } from '../src/app.js';
import { startAuth0Emulator } from '../src/auth0/emulator/server.js';
import { Auth0Gateway } from '../src/auth0/gateway.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { bindTenant } from '../src/sync/binding.js';
import { queueDirectoryEvents } from '../src/sync/events.js';
import { SyncQueue } from '../src/sync/queue.js';
import { SyncWorker } from '../src/sync/worker.js';

const { values: a } = parseArgs({
  options: {
    users: { type: 'string', default: '10000' },
    changes: { type: 'string', default: '15' },
    interval: { type: 'string', default: '2000' },
    lead: { type: 'string', default: '5' },
    plan: { type: 'string', default: 'enterprise' },
    concurrency: { type: 'string', default: '50' },
    'tenant-concurrency': { type: 'string', default: '10' },
  },
});
const users = Number(a.users);
const changes = Number(a.changes);
const interval = Number(a.interval);
const plan = a.plan as 'enterprise' | 'essentials' | 'free';
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `provisio_fairness_${randomBytes(3).toString('hex')}`;
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${name}`);

try {
  const database = await openDatabase({ databaseUrl: url.toString(), poolMax: 10 });
  await migrateToLatest(database.db);
  const emulator = await startAuth0Emulator({ plan });
  const big = await createTenant(database.db, { name: 'big' });
  const small = await createTenant(database.db, { name: 'small' });
  await sql`insert into users (tenant_id, id, user_name, active, email, data)
    select ${big.tenant.id}, gen_random_uuid(), 'user' || n || '@big.test', true, 'user' || n || '@big.test',
      jsonb_build_object('userName', 'user' || n || '@big.test', 'emails', jsonb_build_array(jsonb_build_object('value', 'user' || n || '@big.test', 'primary', true)))
    from generate_series(1, ${users}) n`.execute(database.db);

  const connections = [{ id: emulator.connections.database.id, name: emulator.connections.database.name, mode: 'database' }];
  const gateway = Auth0Gateway.fromSettings({ domain: emulator.domain, clientId: emulator.client.clientId, clientSecret: emulator.client.clientSecret, baseUrl: emulator.baseUrl, plan });
  const queue = await SyncQueue.start(database.pool, { schema: 'pgboss', retryLimit: 8, expireInSeconds: 300 });
  const logger = pino({ level: 'warn' });
  const settings = { concurrency: Number(a.concurrency), tenantConcurrency: Number(a['tenant-concurrency']) };
  const worker = new SyncWorker({ db: database.db, queue, gateway, logger, ...settings });
  const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', SCIM_RATE_LIMIT: 'off' }), database, logger: pino({ level: 'silent' }), events: queueDirectoryEvents(queue) });
  await bindTenant(database.db, queue, small.tenant.id, { binding: { organization: { name: 'small' }, connections } });
  worker.start();

  const importStarted = Date.now();
  await bindTenant(database.db, queue, big.tenant.id, { binding: { organization: { name: 'big' }, connections } });
  await sleep(Number(a.lead) * 1000);

  // One change every `interval` ms in the small tenant, timed from just before the SCIM write.
  const written: { userName: string; at: number }[] = [];
  for (let i = 0; i < changes; i++) {
    const at = Date.now();
    const userName = `change${i}@small.test`;
    const res = await app.inject({
      method: 'POST', url: '/scim/v2/small/Users',
      headers: { authorization: `Bearer ${small.token}`, 'content-type': 'application/scim+json' },
      payload: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, emails: [{ value: userName, primary: true }], active: true },
    });
    if (res.statusCode !== 201) throw new Error(`POST /Users: ${res.statusCode} ${res.body}`);
    written.push({ userName, at });
    await sleep(Math.max(0, at + interval - Date.now()));
  }
  for (let waited = 0; ; waited += 200) {
    const { rows } = await sql<{ n: string }>`select count(*) as n from user_sync where tenant_id = ${small.tenant.id} and status = 'synced'`.execute(database.db);
    if (Number(rows[0]?.n) >= changes || waited > 300_000) break;
    await sleep(200);
  }
  const measuredUntil = Date.now();

  // Auth0's view: when the user became a member of the small org in the emulator.
  const org = [...emulator.emulator.state.organizations.values()].find((o) => o.name === 'small');
  const memberAt = new Map<string, number>();
  for (const m of org?.members ?? []) {
    const email = emulator.emulator.state.users.get(m.user_id)?.email;
    if (email) memberAt.set(email, m.added_at);
  }
  const { rows: synced } = await sql<{ user_name: string; synced_ms: number }>`select u.user_name, extract(epoch from s.synced_at) * 1000 as synced_ms
    from user_sync s join users u on u.tenant_id = s.tenant_id and u.id = s.user_id where s.tenant_id = ${small.tenant.id}`.execute(database.db);
  const syncedAt = new Map(synced.map((r) => [r.user_name, Number(r.synced_ms)]));
  const perChange = [];
  for (const w of written) {
    const member = memberAt.get(w.userName);
    const done = syncedAt.get(w.userName);
    const importJobs = done === undefined ? undefined : Number((await sql<{ n: string }>`select count(*) as n from user_sync where tenant_id = ${big.tenant.id}
      and synced_at >= to_timestamp(${w.at / 1000}) and synced_at <= to_timestamp(${done / 1000})`.execute(database.db)).rows[0]?.n);
    perChange.push({ memberMs: member === undefined ? undefined : member - w.at, syncedMs: done === undefined ? undefined : Math.round(done - w.at), importJobs, queueWaitMs: undefined as number | undefined, runMs: undefined as number | undefined });
  }
  const pct = (xs: (number | undefined)[], q: number) => {
    const s = xs.filter((x): x is number => x !== undefined).sort((x, y) => x - y);
    return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : undefined;
  };
  // Where the time went: waiting in the queue (pg-boss created_on → started_on) vs running the job.
  const { rows: jobRows } = await sql<{ user_name: string; wait_ms: number; run_ms: number }>`select u.user_name,
      extract(epoch from j.started_on - j.created_on) * 1000 as wait_ms, extract(epoch from j.completed_on - j.started_on) * 1000 as run_ms
    from pgboss.job j join users u on u.tenant_id = ${small.tenant.id} and u.id::text = j.data->>'userId'
    where j.data->>'tenantId' = ${small.tenant.id} and j.state = 'completed'`.execute(database.db);
  const jobTimes = new Map(jobRows.map((r) => [r.user_name, { queueWaitMs: Math.round(Number(r.wait_ms)), runMs: Math.round(Number(r.run_ms)) }]));
  for (const [i, w] of written.entries()) Object.assign(perChange[i]!, jobTimes.get(w.userName) ?? {});
  const auth0Statuses: Record<string, number> = {};
  let memberAdds = 0;
  let membersAdded = 0;
  for (const c of emulator.emulator.callLog()) {
    auth0Statuses[c.status] = (auth0Statuses[c.status] ?? 0) + 1;
    const members = (c.body as { members?: unknown[] } | undefined)?.members;
    if (c.operation === 'POST /organizations/{id}/members' && c.status < 300 && Array.isArray(members)) {
      memberAdds++;
      membersAdded += members.length;
    }
  }
  const importDone = Number((await sql<{ n: string }>`select count(*) as n from user_sync where tenant_id = ${big.tenant.id} and status = 'synced'`.execute(database.db)).rows[0]?.n);
  console.log(JSON.stringify({
    users, changes, intervalMs: interval, plan, ...settings,
    appliedInAuth0Ms: { p50: pct(perChange.map((c) => c.memberMs), 0.5), p95: pct(perChange.map((c) => c.memberMs), 0.95), max: pct(perChange.map((c) => c.memberMs), 1) },
    syncedAtMs: { p50: pct(perChange.map((c) => c.syncedMs), 0.5), p95: pct(perChange.map((c) => c.syncedMs), 0.95), max: pct(perChange.map((c) => c.syncedMs), 1) },
    queueWaitMs: { p50: pct(perChange.map((c) => c.queueWaitMs), 0.5), p95: pct(perChange.map((c) => c.queueWaitMs), 0.95), max: pct(perChange.map((c) => c.queueWaitMs), 1) },
    runMs: { p50: pct(perChange.map((c) => c.runMs), 0.5), p95: pct(perChange.map((c) => c.runMs), 0.95), max: pct(perChange.map((c) => c.runMs), 1) },
    importJobsDuringChange: { p50: pct(perChange.map((c) => c.importJobs), 0.5), p95: pct(perChange.map((c) => c.importJobs), 0.95), max: pct(perChange.map((c) => c.importJobs), 1) },
    auth0Statuses, usersPerMemberAdd: memberAdds ? Number((membersAdded / memberAdds).toFixed(2)) : undefined, importSyncedWhileMeasuring: importDone, importUsersPerSecond: Number((importDone / ((measuredUntil - importStarted) / 1000)).toFixed(1)),
    perChange,
  }));
  await worker.stop();
  await app.close();
  await queue.stop();
  await emulator.close();
  await database.close();
} finally {
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}
