import { sql, type Kysely } from 'kysely';
import type { Database } from '../../src/db/schema.js';
import t from 'tap';
import { MissingReferenceError } from '../../src/db/errors.js';
import { addExistingMembers } from '../../src/db/groups.js';
import { deleteUser } from '../../src/db/users.js';
import { createGroup, createUser, testApp } from '../helpers/app.js';
import { TEST_BACKEND } from '../helpers/db.js';

const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

async function danglingMemberships(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from group_members gm
    where (gm.member_type = 'User' and not exists (select 1 from users u where u.tenant_id = gm.tenant_id and u.id = gm.member_id))
       or (gm.member_type = 'Group' and not exists (select 1 from groups g where g.tenant_id = gm.tenant_id and g.id = gm.member_id))`.execute(db);
  return Number(rows[0]!.n);
}

t.test('a PATCH adding a member that races a DELETE of that member leaves no membership behind (50 rounds)', async (t) => {
  const { scim, database } = await testApp(t);
  const group = await createGroup(scim, 'Engineering');
  const statuses = new Map<string, number>();
  for (let round = 0; round < 50; round++) {
    const user = await createUser(scim, `racer-${round}`);
    const nested = await createGroup(scim, `nested-${round}`);
    const patch = { schemas: [PATCH_URN], Operations: [{ op: 'add', path: 'members', value: [{ value: user }, { value: nested }] }] };
    // Alternate who starts first so both interleavings occur.
    const requests = round % 2 === 0
      ? [scim.request('PATCH', `/Groups/${group}`, patch), scim.request('DELETE', `/Users/${user}`), scim.request('DELETE', `/Groups/${nested}`)]
      : [scim.request('DELETE', `/Users/${user}`), scim.request('DELETE', `/Groups/${nested}`), scim.request('PATCH', `/Groups/${group}`, patch)];
    const [a, b, c] = await Promise.all(requests);
    for (const res of [a!, b!, c!]) {
      const key = `${res.statusCode}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      t.ok(res.statusCode < 500, `round ${round}: no 5xx (${res.statusCode} ${res.body})`);
    }
  }
  t.equal(await danglingMemberships(database.db), 0, 'zero dangling memberships');
  const members = await scim.json('GET', `/Groups/${group}`);
  t.notOk(members.body.members?.length, 'the group has no members left: every member was deleted');
  t.comment(`statuses over 50 rounds: ${JSON.stringify(Object.fromEntries(statuses))}`);
});

t.test('the schema itself forbids it: an add whose member is deleted by a transaction that commits first fails its foreign key', { skip: TEST_BACKEND === 'pglite' ? 'needs two sessions' : false }, async (t) => {
  const { scim, database } = await testApp(t);
  const group = await createGroup(scim, 'Ops');
  const user = await createUser(scim, 'alice');
  const tenantId = (await sql<{ id: string }>`select id from tenants where name = 'acme'`.execute(database.db)).rows[0]!.id;

  // The delete holds the user's row lock, uncommitted; the add's `found` still sees the user in its snapshot.
  let releaseDelete!: () => void;
  const deleteHeld = new Promise<void>((resolve) => (releaseDelete = resolve));
  let deleted!: () => void;
  const deleteStarted = new Promise<void>((resolve) => (deleted = resolve));
  const deleting = database.db.transaction().execute(async (trx) => {
    await deleteUser(trx, tenantId, user);
    deleted();
    await deleteHeld;
  });
  await deleteStarted;
  // Its failure is caught at once: it may come while the test still awaits the delete (an unhandled rejection otherwise).
  const adding = database.db.transaction().execute((trx) => addExistingMembers(trx, tenantId, group, [user])).then(() => undefined, (err: unknown) => err);
  await new Promise((resolve) => setTimeout(resolve, 200)); // the add is now waiting on the foreign-key check
  releaseDelete();
  await deleting;
  const failure = await adding;
  t.type(failure, MissingReferenceError, 'the add fails as a missing reference (a SCIM 400), not a dangling row');
  t.match(failure, { constraint: 'group_members_user_fk' });
  t.equal(await danglingMemberships(database.db), 0);

  // A raw insert that bypasses every code path is refused too.
  await t.rejects(
    sql`insert into group_members (tenant_id, group_id, member_id, member_type) values (${tenantId}, ${group}, gen_random_uuid(), 'User')`.execute(database.db),
    { code: '23503' },
  );
});
