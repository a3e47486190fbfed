import { sql } from 'kysely';
import t from 'tap';
import { deleteTenant } from '../../src/db/tenants.js';
import { createGroup, createUser, testApp } from '../helpers/app.js';

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
