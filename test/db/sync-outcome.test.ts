import { randomUUID } from 'node:crypto';
import t from 'tap';
import { sql } from 'kysely';
import { createTenant } from '../../src/admin/tenants.js';
import { findUserSync, markUsersChanged, recordSyncOutcome } from '../../src/db/sync.js';
import { testDatabase } from '../helpers/db.js';

t.test('a sync outcome stays pending when the directory changed after the job read it, even by a transaction older than the job', async (t) => {
  const database = await testDatabase(t);
  const db = database.db;
  const { tenant } = await createTenant(db, { name: 'acme' });
  const userId = randomUUID();
  await markUsersChanged(db, tenant.id, [userId]);
  const seen = (await findUserSync(db, tenant.id, userId))!.changed_at;

  // Nothing changed since the job read the row: synced.
  t.equal(await recordSyncOutcome(db, tenant.id, userId, new Date(), { status: 'synced' }, seen), 'synced');

  // A change whose transaction began before the job started (its changed_at is older than the job) but
  // committed after the job read the row: the job cannot have seen it.
  await markUsersChanged(db, tenant.id, [userId]);
  const jobStartedLater = new Date(Date.now() + 60_000);
  t.equal(await recordSyncOutcome(db, tenant.id, userId, jobStartedLater, { status: 'synced' }, seen), 'pending', 'changed_at moved: pending');
  const now = (await findUserSync(db, tenant.id, userId))!.changed_at;
  t.equal(await recordSyncOutcome(db, tenant.id, userId, jobStartedLater, { status: 'synced' }, now), 'synced', 'the job that saw it: synced');

  // A failure is recorded as such whatever changed (pg-boss runs the job again).
  await sql`update user_sync set changed_at = now() + interval '1 hour' where tenant_id = ${tenant.id} and user_id = ${userId}`.execute(db);
  t.equal(await recordSyncOutcome(db, tenant.id, userId, new Date(), { status: 'failed', error: 'x' }, now), 'failed');
});
