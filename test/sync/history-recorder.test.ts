import t from 'tap';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { createTenant } from '../../src/admin/tenants.js';
import { listUserHistory, type NewUserHistoryEntry } from '../../src/db/user-history.js';
import { createMetrics } from '../../src/metrics.js';
import { DETAIL_MAX, UserHistoryRecorder } from '../../src/sync/history-recorder.js';
import type { SyncJob } from '../../src/sync/queue.js';
import { testDatabase } from '../helpers/db.js';
import { scimUser, syncHarness, userSyncRow } from '../helpers/sync.js';

/** A logger that keeps what it was told. */
function capturingLogger() {
  const lines: { level: string; msg: string; obj: object }[] = [];
  return {
    lines,
    warn: (obj: object, msg: string) => void lines.push({ level: 'warn', msg, obj }),
    error: (obj: object, msg: string) => void lines.push({ level: 'error', msg, obj }),
  };
}

function run(tenantId: string, userId: string, extra: Partial<NewUserHistoryEntry> = {}): NewUserHistoryEntry {
  return {
    tenantId, userId, auth0UserId: 'auth0|1', kind: 'sync', at: new Date(), outcome: 'synced', detail: null, durationMs: 5, attempt: 1,
    facts: null, calls: [], callsOmitted: 0, ...extra,
  };
}

t.test('a sync whose history cannot be written still syncs; the lost runs are counted', async (t) => {
  const h = await syncHarness(t);
  await h.bind();
  await sql`drop table user_history`.execute(h.database.db);
  const ids = [await scimUser(h, 'alice@acme.test'), await scimUser(h, 'bob@acme.test')];
  await h.settle();
  await h.worker.history.flush();
  for (const [i, email] of ['alice@acme.test', 'bob@acme.test'].entries()) {
    t.ok(h.auth0User(email), `${email} is in Auth0`);
    t.equal((await userSyncRow(h, ids[i]!))?.status, 'synced', `${email} is synced`);
  }
  t.equal(h.worker.counts.failed, 0, 'no job failed');
  t.match(h.worker.history.counts(), { written: 0, buffered: 0 });
  t.ok(h.worker.history.counts().dropped >= 2, `the runs were dropped and counted (${h.worker.history.counts().dropped})`);
});

t.test('a run is in the user\'s history by the time its job is marked done or failed', async (t) => {
  const h = await syncHarness(t);
  await h.bind();
  // Whoever sees the job leave the queue (settle, `provisio status`) and then reads the timeline must find
  // the run: at each hand-back, everything the recorder was given is written, and the run must be there.
  const runsAtHandBack: string[] = [];
  const lookUp = async (job: SyncJob, how: string) => {
    await h.worker.history.flush();
    const runs = await listUserHistory(h.database.db, h.tenantId, job.data.userId, 10);
    runsAtHandBack.push(`${how}: ${runs.map((r) => `${r.outcome}#${r.attempt}`).join(' ')}`);
  };
  const { complete, fail } = { complete: h.queue.complete.bind(h.queue), fail: h.queue.fail.bind(h.queue) };
  h.queue.complete = async (job, output) => { await lookUp(job, 'complete'); return complete(job, output); };
  h.queue.fail = async (job, message) => { await lookUp(job, 'fail'); return fail(job, message); };
  // Four 503s spend the run's own retries of the call: the first attempt fails, pg-boss's retry syncs.
  h.emulator.emulator.injectFault('POST /users', { errorRate: 1, errorStatus: 503, times: 4 });
  await scimUser(h, 'alice@acme.test');
  await h.settle(40_000);
  t.same(runsAtHandBack, ['fail: failed#1', 'complete: synced#2 failed#1'], 'each hand-back found its own run already recorded');
});

t.test('jobs that add members together share one request, in each job\'s run', async (t) => {
  const h = await syncHarness(t);
  // Created before the binding, so their jobs start together and meet in the member batcher.
  const ids = [await scimUser(h, 'a@acme.test'), await scimUser(h, 'b@acme.test'), await scimUser(h, 'c@acme.test')];
  await h.bind();
  await h.settle();
  await h.worker.history.flush();
  const adds = [];
  for (const id of ids) {
    const [latest] = await listUserHistory(h.database.db, h.tenantId, id, 1);
    adds.push(...(latest?.calls ?? []).filter((c) => c.operation === 'POST /api/v2/organizations/{id}/members'));
  }
  t.equal(adds.length, 3, 'each run lists the request that added its user');
  const requests = h.emulator.emulator.callLog().filter((c) => c.method === 'POST' && /\/organizations\/[^/]+\/members$/.test(c.url)).length;
  const batched = adds.filter((c) => (c.batchedUsers ?? 1) > 1);
  t.comment(`${requests} member request(s) for 3 users`);
  t.equal(batched.reduce((n, c) => n + 1 / c.batchedUsers!, 0) + (adds.length - batched.length), requests, 'batched ones say for how many users, and add up to the requests sent');
});

t.test('the recorder cuts and cleans texts, drops and counts beyond its capacity, and forgets an erased user', async (t) => {
  const { db } = await testDatabase(t);
  const { tenant } = await createTenant(db, { name: 'acme' });
  const logger = capturingLogger();
  // Nothing is written before close: a batch of 10 is never full and the timer is far off.
  const recorder = new UserHistoryRecorder({ db, logger, batchSize: 10, capacity: 3, flushMs: 60_000 });
  const [alice, bob, erased] = [uuidv7(), uuidv7(), uuidv7()];
  recorder.record(run(tenant.id, alice, { outcome: 'failed', detail: `boom\u0000${'x'.repeat(2000)}`, facts: { retry: 'queued', note: 'a\u0000b' } }));
  recorder.record(run(tenant.id, erased));
  recorder.forget(tenant.id, erased);
  recorder.record(run(tenant.id, bob, { kind: 'login', outcome: 'denied', detail: 'not assigned', facts: { organization: { id: 'org_1', name: 'acme\u0000' }, connection: 'okta' } }));
  recorder.record(run(tenant.id, bob));
  recorder.record(run(tenant.id, bob));
  t.match(recorder.counts(), { dropped: 1 }, 'over capacity: dropped, counted');
  await recorder.close();
  recorder.record(run(tenant.id, bob));
  t.same(recorder.counts(), { written: 3, dropped: 2, buffered: 0 }, 'a closed recorder takes nothing');

  const [failed] = await listUserHistory(db, tenant.id, alice, 10);
  t.equal(failed!.detail!.length, DETAIL_MAX, 'the error is cut to 500 characters');
  t.match(failed!.detail, /^boomxxx.*…$/, 'without the NUL PostgreSQL refuses');
  t.same(failed!.facts, { retry: 'queued', note: 'ab' });
  const decisions = await listUserHistory(db, tenant.id, bob, 10);
  t.same(decisions.map((d) => d.outcome).sort(), ['denied', 'synced']);
  t.same(decisions.find((d) => d.kind === 'login')!.facts, { organization: { id: 'org_1', name: 'acme' }, connection: 'okta' });
  t.same(await listUserHistory(db, tenant.id, erased, 10), [], 'nothing written for the erased user');
  t.same(logger.lines, [], 'nothing went wrong');
});

t.test('a batch that cannot be written is dropped, logged once per 30 s and counted; record never throws', async (t) => {
  const { db } = await testDatabase(t);
  const { tenant } = await createTenant(db, { name: 'acme' });
  await sql`drop table user_history`.execute(db);
  const logger = capturingLogger();
  const recorder = new UserHistoryRecorder({ db, logger, batchSize: 1 });
  for (let i = 0; i < 3; i++) t.doesNotThrow(() => recorder.record(run(tenant.id, uuidv7())));
  await recorder.flush();
  t.same(recorder.counts(), { written: 0, dropped: 3, buffered: 0 });
  t.equal(logger.lines.length, 1, 'one line for three failed batches');
  t.match(logger.lines[0], { level: 'error', msg: /writing user history entries failed/ });
});

t.test('written and dropped entries are counted in /metrics by kind', async (t) => {
  const database = await testDatabase(t);
  const { tenant } = await createTenant(database.db, { name: 'acme' });
  const metrics = createMetrics({ db: database.db });
  const recorder = new UserHistoryRecorder({ db: database.db, logger: capturingLogger(), metrics, capacity: 3 });
  recorder.record(run(tenant.id, uuidv7()));
  recorder.record(run(tenant.id, uuidv7(), { kind: 'login', outcome: 'allowed' }));
  recorder.record(run(tenant.id, uuidv7()));
  recorder.record(run(tenant.id, uuidv7()));
  await recorder.close();
  const text = await metrics.registry.metrics();
  t.match(text, /provisio_user_history_records_total\{kind="sync",outcome="written"\} 2/);
  t.match(text, /provisio_user_history_records_total\{kind="login",outcome="written"\} 1/);
  t.match(text, /provisio_user_history_records_total\{kind="sync",outcome="dropped"\} 1/, 'the one over capacity');
});
