import t from 'tap';
import { sql } from 'kysely';
import { createTenant } from '../../src/admin/tenants.js';
import { findMirror, markMirrorsPending, recordMirrorOutcome, saveOktaBinding } from '../../src/db/okta.js';
import { enqueueMirrorIfBound } from '../../src/okta/chain.js';
import { OKTA_QUEUE, OktaQueue } from '../../src/okta/queue.js';
import { testDatabase, testJobQueue } from '../helpers/db.js';

/** A database with one tenant, a user id, and the Okta lane on a job queue of its own. */
async function withOktaLane(t: Parameters<typeof testDatabase>[0]) {
  const database = await testDatabase(t);
  const { queue, schema } = await testJobQueue(t, database, { retryLimit: 1, expireInSeconds: 30 });
  const okta = await OktaQueue.start(queue.boss, { retryLimit: 1, expireInSeconds: 30 });
  const { tenant } = await createTenant(database.db, { name: 'acme' });
  const userId = (await sql<{ id: string }>`select gen_random_uuid() as id`.execute(database.db)).rows[0]!.id;
  return { database, okta, schema, tenant, userId };
}

t.test('a mirror outcome keeps the link and applied state it does not name, and keeps pending a change made meanwhile', async (t) => {
  const database = await testDatabase(t);
  const { tenant } = await createTenant(database.db, { name: 'acme' });
  const userId = (await sql<{ id: string }>`select gen_random_uuid() as id`.execute(database.db)).rows[0]!.id;
  await markMirrorsPending(database.db, tenant.id, [userId]);
  const seen = (await findMirror(database.db, tenant.id, userId))!.changed_at;
  t.equal(await recordMirrorOutcome(database.db, tenant.id, userId, seen, { status: 'mirrored', oktaUserId: '00u1', applied: { presence: 'present' }, plan: [{ type: 'createUser' }] }), 'mirrored');
  // A failure names neither link nor applied state: both stay.
  t.equal(await recordMirrorOutcome(database.db, tenant.id, userId, null, { status: 'failed', error: 'Okta said no' }), 'failed');
  let row = (await findMirror(database.db, tenant.id, userId))!;
  t.match(row, { okta_user_id: '00u1', applied: { presence: 'present' }, last_error: 'Okta said no', attempts: 1, last_plan: [{ type: 'createUser' }] });
  // A run with nothing to do names neither either.
  t.equal(await recordMirrorOutcome(database.db, tenant.id, userId, row.changed_at, { status: 'mirrored', plan: [], error: null }), 'mirrored');
  row = (await findMirror(database.db, tenant.id, userId))!;
  t.match(row, { okta_user_id: '00u1', applied: { presence: 'present' }, last_error: null, attempts: 0 });
  // A change that arrived while the job ran (changed_at moved past what it read) stays pending.
  const before = row.changed_at;
  await new Promise((r) => setTimeout(r, 5));
  await markMirrorsPending(database.db, tenant.id, [userId]);
  t.equal(await recordMirrorOutcome(database.db, tenant.id, userId, before, { status: 'mirrored', plan: [], error: null }), 'pending');
  // Unlinking: a deleted Okta user.
  t.equal(await recordMirrorOutcome(database.db, tenant.id, userId, null, { status: 'deleted', oktaUserId: null, applied: null }), 'deleted');
  t.match(await findMirror(database.db, tenant.id, userId), { okta_user_id: null, applied: null });
});

t.test('an Auth0 outcome queues the Okta mirror only for a tenant bound to Okta, in the outcome\'s transaction', async (t) => {
  const { database, okta, schema, tenant, userId } = await withOktaLane(t);
  const jobs = async () => Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(`${schema}.job`)} where name = ${OKTA_QUEUE}`.execute(database.db)).rows[0]!.n);

  await database.db.transaction().execute((trx) => enqueueMirrorIfBound(trx, okta, tenant.id, userId));
  t.equal(await jobs(), 0, 'not bound: nothing queued');
  t.equal(await findMirror(database.db, tenant.id, userId), undefined);

  await saveOktaBinding(database.db, tenant.id, { profileMapping: [] });
  await t.rejects(database.db.transaction().execute(async (trx) => {
    await enqueueMirrorIfBound(trx, okta, tenant.id, userId);
    throw new Error('the outcome failed');
  }), /the outcome failed/);
  t.equal(await jobs(), 0, 'a rolled-back outcome queues nothing');

  await database.db.transaction().execute((trx) => enqueueMirrorIfBound(trx, okta, tenant.id, userId));
  t.equal(await jobs(), 1, 'bound: one job');
  t.equal((await findMirror(database.db, tenant.id, userId))?.status, 'pending');
  await database.db.transaction().execute((trx) => enqueueMirrorIfBound(trx, okta, tenant.id, userId));
  t.equal(await jobs(), 1, 'a second change while the job waits is folded into it');
});

t.test('an Okta binding and an Auth0 outcome committing at once: the outcome waits for the binding and then sees it', { skip: process.env.TEST_DB === 'pglite' ? 'needs two sessions' : false }, async (t) => {
  const { database, okta, schema, tenant, userId } = await withOktaLane(t);

  // The binding (as src/okta/bind.ts does it): the tenant row locked for update, the binding written, not yet committed.
  let commitBinding!: () => void;
  const release = new Promise<void>((resolve) => (commitBinding = resolve));
  let bindingWritten!: () => void;
  const written = new Promise<void>((resolve) => (bindingWritten = resolve));
  const binding = database.db.transaction().execute(async (trx) => {
    await trx.selectFrom('tenants').select('id').where('id', '=', tenant.id).forUpdate().executeTakeFirst();
    await saveOktaBinding(trx, tenant.id, { profileMapping: [] });
    bindingWritten();
    await release;
  });
  await written;
  const outcome = database.db.transaction().execute((trx) => enqueueMirrorIfBound(trx, okta, tenant.id, userId));
  await new Promise((r) => setTimeout(r, 200));
  commitBinding();
  await binding;
  await outcome;
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.table(`${schema}.job`)} where name = ${OKTA_QUEUE}`.execute(database.db);
  t.equal(Number(rows[0]!.n), 1, 'the outcome saw the binding it waited for, and queued the mirror');
});
