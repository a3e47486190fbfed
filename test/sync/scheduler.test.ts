import { sql } from 'kysely';
import { pino } from 'pino';
import t from 'tap';
import { createTenant } from '../../src/admin/tenants.js';
import { bindTenant } from '../../src/sync/binding.js';
import { queueDirectoryEvents } from '../../src/sync/events.js';
import { SyncQueue, SYNC_QUEUE, type SyncJob } from '../../src/sync/queue.js';
import { SyncWorker } from '../../src/sync/worker.js';
import { workerFixture, type WorkerFixture } from '../helpers/sync.js';

/** A tenant bound to the emulator with `users` directory users (the bind enqueues them: its import). */
async function tenantWithUsers(s: WorkerFixture, name: string, users: number): Promise<string> {
  const { tenant } = await createTenant(s.database.db, { name });
  if (users > 0) {
    await sql`insert into users (tenant_id, id, user_name, active, email, data)
      select ${tenant.id}, gen_random_uuid(), ${name} || '-' || n || '@example.com', true, ${name} || '-' || n || '@example.com',
        jsonb_build_object('userName', ${name} || '-' || n || '@example.com', 'emails', jsonb_build_array(jsonb_build_object('value', ${name} || '-' || n || '@example.com', 'primary', true)))
      from generate_series(1, ${users}::int) n`.execute(s.database.db);
  }
  await bindTenant(s.database.db, s.queue, tenant.id, {
    binding: { organization: { name }, connections: [{ id: s.emulator.connections.database.id, name: s.emulator.connections.database.name, mode: 'database' }] },
  });
  return tenant.id;
}

async function syncedCount(s: WorkerFixture, tenantIds: readonly string[]): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from user_sync where tenant_id = any(${tenantIds}::uuid[]) and status = 'synced'`.execute(s.database.db);
  return Number(rows[0]?.n ?? 0);
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('one tenant\'s single change is applied within a few jobs while two other tenants import, even with scarce worker slots', async (t) => {
  const s = await workerFixture(t);
  // Slow user creation: each import job takes ≥ 40 ms, so the imports last seconds and the change lands in their middle.
  s.emulator.emulator.injectFault('POST /users', { latencyMs: 40 });
  const importers = [await tenantWithUsers(s, 'import-a', 120), await tenantWithUsers(s, 'import-c', 120)];
  const single = await tenantWithUsers(s, 'single-b', 0);
  // Four slots for three tenants, each allowed all four: without the even-share skip the oldest jobs (the
  // imports') would take every freed slot and tenant B would wait for both imports to finish.
  const worker = new SyncWorker({ db: s.database.db, queue: s.queue, gateway: s.gateway, logger: pino({ level: 'silent' }), pollMs: 50, concurrency: 4, tenantConcurrency: 4 });
  worker.start();
  t.teardown(() => worker.stop());
  await until('the imports to be under way', async () => (await syncedCount(s, importers)) >= 8);

  const userId = (await sql<{ id: string }>`insert into users (tenant_id, id, user_name, active, email, data)
    values (${single}, gen_random_uuid(), 'bob@example.com', true, 'bob@example.com', ${JSON.stringify({ userName: 'bob@example.com', emails: [{ value: 'bob@example.com', primary: true }] })}::jsonb)
    returning id`.execute(s.database.db)).rows[0]!.id;
  const before = await syncedCount(s, importers);
  await s.database.db.transaction().execute((trx) => queueDirectoryEvents(s.queue).usersChanged(trx, single, [userId]));
  await until('tenant B\'s change to be applied', async () => (await syncedCount(s, [single])) === 1);
  const during = (await syncedCount(s, importers)) - before;
  t.ok(during <= 12, `import jobs finished while B's change waited: ${during} (of ${240 - before} left)`);
  t.ok(await syncedCount(s, importers) < 200, 'B did not wait for the imports to end');
});

t.test('a change in an idle tenant gets the next free slot even while an importing tenant is just below its cap', async (t) => {
  const s = await workerFixture(t);
  const importer = await tenantWithUsers(s, 'import-fast', 200);
  const single = await tenantWithUsers(s, 'single-d', 0);
  // The worst interleaving, made deterministic: every fetch reaches the database just after a job has
  // finished, so the importer is always one job below its cap when the fetch runs. pg-boss hands out the
  // oldest jobs first (the importer's) whenever a tenant's cap allows, so a worker that asked only for
  // "any job" would give every freed slot back to the importer until its import ended.
  let finished: (() => void) | undefined;
  const fetches: string[][] = [];
  const racing = Object.create(s.queue) as SyncQueue;
  racing.complete = async (job, output) => {
    await s.queue.complete(job, output);
    finished?.();
  };
  racing.fetch = async (limit, perTenant, skip) => {
    await new Promise<void>((r) => {
      finished = r;
      setTimeout(r, 2000);
    });
    const jobs = await s.queue.fetch(limit, perTenant, skip);
    fetches.push(jobs.map((j) => j.data.tenantId));
    return jobs;
  };
  const worker = new SyncWorker({ db: s.database.db, queue: racing, gateway: s.gateway, logger: pino({ level: 'silent' }), pollMs: 50, concurrency: 20, tenantConcurrency: 5 });
  worker.start();
  t.teardown(() => worker.stop());
  await until('the import to be under way', async () => (await syncedCount(s, [importer])) >= 10);

  const userId = (await sql<{ id: string }>`insert into users (tenant_id, id, user_name, active, email, data)
    values (${single}, gen_random_uuid(), 'dan@example.com', true, 'dan@example.com', ${JSON.stringify({ userName: 'dan@example.com', emails: [{ value: 'dan@example.com', primary: true }] })}::jsonb)
    returning id`.execute(s.database.db)).rows[0]!.id;
  await s.database.db.transaction().execute((trx) => queueDirectoryEvents(s.queue).usersChanged(trx, single, [userId]));
  const queuedAt = fetches.length;
  await until('the change to be applied', async () => (await syncedCount(s, [single])) === 1);
  const taken = fetches.findIndex((jobs) => jobs.includes(single));
  const before = fetches.slice(queuedAt, taken).flat().length;
  // Only the fetch already under way when the change was queued may hand out import jobs first.
  t.ok(taken - queuedAt <= 1, `fetches from the change's enqueue to its hand-out: ${taken - queuedAt + 1} (import jobs handed out in between: ${before})`);
});

t.test('one tenant never runs more than its tenant concurrency, and the others still run', async (t) => {
  const s = await workerFixture(t);
  s.emulator.emulator.injectFault('POST /users', { latencyMs: 30 });
  const big = await tenantWithUsers(s, 'big', 30);
  const small = await tenantWithUsers(s, 'small', 5);
  let running = 0;
  let peakBig = 0;
  const runningBig = new Set<string>();
  const counting = Object.create(s.queue) as SyncQueue;
  counting.fetch = async (limit, perTenant, skip) => {
    const jobs = await s.queue.fetch(limit, perTenant, skip);
    for (const job of jobs) if (job.data.tenantId === big) runningBig.add(job.id);
    peakBig = Math.max(peakBig, runningBig.size);
    running += jobs.length;
    return jobs;
  };
  const settle = (job: SyncJob) => { runningBig.delete(job.id); };
  counting.complete = async (job, output) => { settle(job); return s.queue.complete(job, output); };
  counting.fail = async (job, message) => { settle(job); return s.queue.fail(job, message); };
  const worker = new SyncWorker({ db: s.database.db, queue: counting, gateway: s.gateway, logger: pino({ level: 'silent' }), pollMs: 50, concurrency: 20, tenantConcurrency: 3 });
  worker.start();
  t.teardown(() => worker.stop());
  await until('both tenants to be synced', async () => (await syncedCount(s, [big])) === 30 && (await syncedCount(s, [small])) === 5);
  t.ok(peakBig <= 3, `the big tenant had at most 3 jobs running at once (peak ${peakBig})`);
  t.equal(running, 35, 'every job was fetched once');
});

t.test('an idle worker polls one queue: its statements do not grow with the number of bound tenants', async (t) => {
  const s = await workerFixture(t);
  for (let i = 0; i < 50; i++) await tenantWithUsers(s, `idle-${i}`, 0);
  let fetches = 0;
  const counting = Object.create(s.queue) as SyncQueue;
  counting.fetch = async (limit, perTenant, skip) => {
    fetches++;
    return s.queue.fetch(limit, perTenant, skip);
  };
  const worker = new SyncWorker({ db: s.database.db, queue: counting, gateway: s.gateway, logger: pino({ level: 'silent' }), pollMs: 100 });
  worker.start();
  await new Promise((r) => setTimeout(r, 1000));
  await worker.stop();
  // One loop polling every 100 ms: about 10 fetches in a second whatever the tenant count (the per-tenant
  // loops this replaced made 50 tenants × 10 = 500).
  t.ok(fetches >= 1 && fetches <= 12, `fetches in 1 s with 50 bound tenants: ${fetches}`);
});

t.test('jobs waiting in per-tenant queues of an earlier version move into the sync queue at start', async (t) => {
  const s = await workerFixture(t);
  const tenantId = await tenantWithUsers(s, 'legacy', 0);
  const legacy = `sync-${tenantId}`;
  const userIds = [crypto.randomUUID(), crypto.randomUUID()];
  await s.queue.boss.createQueue(legacy, { policy: 'stately' });
  for (const userId of userIds) await s.queue.boss.send(legacy, { tenantId, userId }, { singletonKey: userId });
  const again = await SyncQueue.start(s.database.pool, { schema: s.schema, retryLimit: 3, expireInSeconds: 30 });
  t.teardown(() => again.stop());
  t.equal(await again.boss.getQueue(legacy), null, 'the per-tenant queue is gone');
  const jobs = await again.boss.findJobs<{ tenantId: string; userId: string }>(SYNC_QUEUE, { queued: true });
  t.same(jobs.map((j) => j.data.userId).sort(), [...userIds].sort(), 'its waiting jobs are in the sync queue');
  t.same(new Set(jobs.map((j) => (j as { groupId?: string }).groupId)), new Set([tenantId]), 'grouped by their tenant');
});
