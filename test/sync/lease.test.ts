import { sql } from 'kysely';
import { pino } from 'pino';
import t from 'tap';
import { createTenant } from '../../src/admin/tenants.js';
import { bindTenant } from '../../src/sync/binding.js';
import { queueDirectoryEvents } from '../../src/sync/events.js';
import { Lease } from '../../src/sync/lease.js';
import { SyncQueue } from '../../src/sync/queue.js';
import { SyncWorker } from '../../src/sync/worker.js';
import { testDatabase } from '../helpers/db.js';
import { workerFixture } from '../helpers/sync.js';

t.test('a lease has one holder at a time; it passes on release or expiry, never while renewed', async (t) => {
  const { db } = await testDatabase(t);
  const a = new Lease(db, 'sync', { seconds: 3, holder: 'replica-a' });
  const b = new Lease(db, 'sync', { seconds: 3, holder: 'replica-b' });
  t.equal(await a.held(), true, 'the first claim wins');
  t.equal(await b.held(), false, 'the second stands by');
  await a.release();
  t.equal(await a.held(), false, 'released');
  const c = new Lease(db, 'sync', { seconds: 3, holder: 'replica-c' });
  t.equal(await c.held(), true, 'a released lease is taken at once');
  const d = new Lease(db, 'sync', { seconds: 3, holder: 'replica-d' });
  t.equal(await d.held(), false);
  // c stops renewing (a process that hangs or lost its database); its lease expires after 3 s.
  await new Promise((r) => setTimeout(r, 3300));
  const e = new Lease(db, 'sync', { seconds: 3, holder: 'replica-e' });
  t.equal(await e.held(), true, 'an expired lease is taken');
  t.equal(await c.held(), false, 'the old holder learns it lost the lease at its next check');
});

t.test('two replicas: only the lease holder syncs; when it stops, the standby takes over', async (t) => {
  const { database, gateway, queue, emulator } = await workerFixture(t);
  const replica = (holder: string) => {
    const lease = new Lease(database.db, 'sync', { seconds: 3, holder });
    return new SyncWorker({ db: database.db, queue, gateway, logger: pino({ level: 'silent' }), pollMs: 50, lease });
  };
  const a = replica('replica-a');
  const b = replica('replica-b');
  a.start();
  await new Promise((r) => setTimeout(r, 100));
  b.start();
  t.teardown(() => Promise.all([a.stop(), b.stop()]));

  const { tenant } = await createTenant(database.db, { name: 'acme' });
  const addUser = async (email: string) => (await sql<{ id: string }>`insert into users (tenant_id, id, user_name, active, email, data)
    values (${tenant.id}, gen_random_uuid(), ${email}, true, ${email}, ${JSON.stringify({ userName: email, emails: [{ value: email, primary: true }] })}::jsonb) returning id`.execute(database.db)).rows[0]!.id;
  for (let i = 0; i < 20; i++) await addUser(`user${i}@acme.test`);
  await bindTenant(database.db, queue, tenant.id, {
    binding: { organization: { name: 'acme' }, connections: [{ id: emulator.connections.database.id, name: emulator.connections.database.name, mode: 'database' }] },
  });
  const synced = async () => Number((await sql<{ n: string }>`select count(*) as n from user_sync where tenant_id = ${tenant.id} and status = 'synced'`.execute(database.db)).rows[0]!.n);
  const until = async (what: string, fn: () => Promise<boolean>, ms: number) => {
    const deadline = Date.now() + ms;
    while (!(await fn())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  // A job counts as completed only after its queue row is, which is a moment after the user shows as synced.
  const completed = () => a.counts.completed + b.counts.completed;
  await until('the import', async () => (await synced()) === 20 && completed() === 20, 20_000);
  t.equal(a.role, 'running');
  t.equal(b.role, 'standby');
  t.equal(a.counts.completed, 20, 'the lease holder ran every job');
  t.equal(b.counts.completed, 0, 'the standby ran none');

  await a.stop();
  const userId = await addUser('late@acme.test');
  await database.db.transaction().execute((trx) => queueDirectoryEvents(queue).usersChanged(trx, tenant.id, [userId]));
  const stopped = Date.now();
  await until('the standby to take over', async () => (await synced()) === 21 && completed() === 21, 10_000);
  t.ok(Date.now() - stopped < 2500, `a cleanly stopped holder releases the lease: the standby synced the change after ${Date.now() - stopped} ms (lease check every 1 s)`);
  t.equal(b.role, 'running');
  t.equal(b.counts.completed, 1);
});
