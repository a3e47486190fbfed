import { sql, type Kysely } from 'kysely';
import t from 'tap';
import type { Database } from '../../src/db/schema.js';
import { deleteTenant } from '../../src/db/tenants.js';
import { createGroup, createUser, testApp } from '../helpers/app.js';
import { TEST_BACKEND } from '../helpers/db.js';

t.test('unfiltered totalResults stays exact through concurrent creates and deletes, per tenant', async (t) => {
  const { scim, tenant, database } = await testApp(t);
  const other = await tenant('other');
  const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => createUser(scim, `u${i}`)));
  await createUser(other, 'elsewhere');
  await Promise.all(ids.slice(0, 7).map((id) => scim.request('DELETE', `/Users/${id}`)));
  const list = await scim.json('GET', '/Users?count=1');
  t.equal(list.body.totalResults, 23);
  const counted = await sql<{ n: string }>`select count(*) as n from users u join tenants x on x.id = u.tenant_id where x.name = 'acme'`.execute(database.db);
  t.equal(Number(counted.rows[0]!.n), 23, 'matches count(*)');
  t.equal((await other.json('GET', '/Users?count=0')).body.totalResults, 1, 'other tenant counted apart');
  await createGroup(scim, 'g1');
  t.equal((await scim.json('GET', '/Groups?count=0')).body.totalResults, 1);
});

t.test('deleting a tenant with users and groups removes its counts too', async (t) => {
  const { scim, database } = await testApp(t);
  await createUser(scim, 'a');
  await createGroup(scim, 'g');
  const row = await database.db.selectFrom('tenants').select('id').where('name', '=', 'acme').executeTakeFirstOrThrow();
  t.equal(await deleteTenant(database.db, row.id), true);
  const left = await sql<{ n: string }>`select count(*) as n from resource_counts`.execute(database.db);
  t.equal(Number(left.rows[0]!.n), 0);
});

// Each counter row stays locked until the transaction that bumped it commits. Counted in the writing
// session's own slot, one tenant's concurrent creates do not queue behind each other's commits.
t.test('a create does not wait for another session\'s uncommitted create in the same tenant', { skip: TEST_BACKEND !== 'postgres' && 'PGlite has one session' }, async (t) => {
  const { scim, database } = await testApp(t);
  await createUser(scim, 'first');
  const tenantId = (await database.db.selectFrom('tenants').select('id').where('name', '=', 'acme').executeTakeFirstOrThrow()).id;
  const insert = (session: Kysely<Database>, name: string) => sql`insert into users (tenant_id, id, user_name, data)
    values (${tenantId}, gen_random_uuid(), ${name}, '{}'::jsonb)`.execute(session);
  await database.db.connection().execute(async (holder) => {
    await sql`begin`.execute(holder);
    await insert(holder, 'held@acme.test');
    const holderPid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(holder)).rows[0]!.pid;
    // Two sessions share a counter row only when their process ids are equal modulo 64: the writer is a
    // session that does not (one that does is kept while the next is taken, so the pool hands out another).
    const withWriter = (tries: number, work: (writer: Kysely<Database>) => Promise<void>): Promise<void> =>
      database.db.connection().execute(async (writer) => {
        const writerPid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(writer)).rows[0]!.pid;
        if (writerPid % 64 !== holderPid % 64) return work(writer);
        if (tries <= 1) throw new Error('no session with a counter slot of its own');
        return withWriter(tries - 1, work);
      });
    try {
      await withWriter(3, async (writer) => {
        await sql`set lock_timeout = '1s'`.execute(writer);
        // 20 creates: with a random slot of 16 each would have met the held one with a chance of 1 in 16.
        for (let i = 0; i < 20; i++) await insert(writer, `w${i}@acme.test`);
        await sql`reset lock_timeout`.execute(writer);
        t.pass('20 creates committed while another create of the tenant was uncommitted');
      });
    } finally {
      await sql`commit`.execute(holder);
    }
  });
  t.equal((await scim.json('GET', '/Users?count=0')).body.totalResults, 22, 'and the count is exact');
});
