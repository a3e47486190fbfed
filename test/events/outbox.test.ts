import t from 'tap';
import { sql } from 'kysely';
import { createGroup, createUser, testApp, userBody } from '../helpers/app.js';
import { eventBounds, listEvents } from '../../src/db/events.js';
import { sequenceEvents } from '../../src/events/sequencer.js';
import { sequenceAll } from '../helpers/events.js';
import { deleteTenant, findTenantByName } from '../../src/db/tenants.js';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

t.test('every directory change writes its event in the same transaction, numbered per tenant in order', async (t) => {
  const { scim, database, tenant } = await testApp(t);
  const db = database.db;
  const acme = (await findTenantByName(db, 'acme'))!;

  const ada = await createUser(scim, 'ada@acme.test', { name: { givenName: 'Ada' }, emails: [{ value: 'ada@acme.test', primary: true }], password: 'Secret-123' });
  t.equal((await scim.json('PATCH', `/Users/${ada}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'name.givenName', value: 'Augusta' }] })).status, 200);
  // A PUT that changes nothing writes no event.
  const current = (await scim.json('GET', `/Users/${ada}`)).body;
  t.equal((await scim.json('PUT', `/Users/${ada}`, { ...current, meta: undefined })).status, 200);
  t.equal((await scim.json('PATCH', `/Users/${ada}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] })).status, 200);
  t.equal((await scim.json('PATCH', `/Users/${ada}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: true, displayName: 'Ada L.' } }] })).status, 200);
  const bob = await createUser(scim, 'bob@acme.test');
  const admins = await createGroup(scim, 'Admins', [ada]);
  t.equal((await scim.json('PATCH', `/Groups/${admins}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: bob }] }, { op: 'remove', path: `members[value eq "${ada}"]` }] })).status, 200);
  t.equal((await scim.json('PATCH', `/Groups/${admins}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'Administrators' }] })).status, 200);
  // A refused write leaves no event: a duplicate userName is a 409.
  t.equal((await scim.json('POST', '/Users', userBody('BOB@acme.test'))).status, 409);
  t.equal((await scim.json('DELETE', `/Users/${bob}`)).status, 204);
  t.equal((await scim.json('DELETE', `/Groups/${admins}`)).status, 204);

  // Not numbered before the sequencer ran: a reader never sees an event whose predecessor may still commit.
  t.same(await listEvents(db, acme.id, { after: 0, limit: 100 }), []);
  await sequenceAll(db);
  const events = await listEvents(db, acme.id, { after: 0, limit: 100 });
  t.same(events.map((e) => e.type), [
    'user.created', 'user.updated', 'user.deactivated', 'user.updated', 'user.reactivated', 'user.created',
    'group.created', 'group.member_added', 'group.member_removed', 'group.member_added', 'group.updated',
    // Bob's membership ends with Bob: user.deleted says it, with no member_removed of its own.
    'user.deleted', 'group.deleted',
  ]);
  t.same(events.map((e) => e.sequence), events.map((_, i) => i + 1), 'sequence numbers are 1, 2, 3… per tenant');
  t.ok(events.every((e) => e.tenant.id === acme.id && e.tenant.name === 'acme' && /^[0-9a-f-]{36}$/.test(e.id)));
  const created = events[0]!.data.user as Record<string, unknown>;
  t.match(created, { id: ada, userName: 'ada@acme.test', active: true, name: { givenName: 'Ada' }, emails: [{ value: 'ada@acme.test' }] });
  t.notOk(JSON.stringify(events).includes('Secret-123'), 'no password in any event');
  t.same(events[1]!.data.changed, ['name']);
  t.same(events[3]!.data.changed, ['displayName'], 'a PATCH of active and displayName: updated (displayName) and reactivated');
  t.match(events[7]!.data, { group: { id: admins, displayName: 'Admins' }, member: { id: ada, type: 'User' } });
  t.same(events[10]!.data.changed, ['displayName']);
  t.match(events[8]!.data, { member: { id: ada } });
  t.match(events[9]!.data, { member: { id: bob } });
  t.match(events[11]!.data, { user: { id: bob, userName: 'bob@acme.test' } });

  // Pull by type and after a sequence number.
  const deletions = await listEvents(db, acme.id, { after: 5, limit: 100, types: ['user.deleted', 'group.deleted'] });
  t.same(deletions.map((e) => [e.type, e.sequence]), [['user.deleted', 12], ['group.deleted', 13]]);

  // Another tenant has its own sequence.
  const globex = await tenant('globex');
  await createUser(globex, 'eve@globex.test');
  await sequenceAll(db);
  const globexId = (await findTenantByName(db, 'globex'))!.id;
  t.same((await listEvents(db, globexId, { after: 0, limit: 10 })).map((e) => [e.type, e.sequence]), [['user.created', 1]]);
  t.same(await eventBounds(db, acme.id), { oldest: 1, last: 13 });

  // Deleting a tenant deletes its events and writes none for its cascaded users.
  await deleteTenant(db, globexId);
  const { rows } = await sql<{ n: string }>`select count(*) as n from events where tenant_id = ${globexId}`.execute(db);
  t.equal(Number(rows[0]!.n), 0);
});

t.test('a transaction that commits late is numbered after the ones before it, never skipped', async (t) => {
  const { scim, database } = await testApp(t);
  const db = database.db;
  const acme = (await findTenantByName(db, 'acme'))!;
  if (database.kind === 'pglite') {
    t.pass('PGlite has one session: no concurrent transaction to interleave');
    return;
  }
  await createUser(scim, 'first@acme.test');
  // A writing transaction stays open while later writes commit and the sequencer runs.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let inside!: () => void;
  const started = new Promise<void>((resolve) => (inside = resolve));
  // Released at teardown too: a transaction left open would hold back the numbering of every test file's
  // events in this PostgreSQL (the sequencer waits for the oldest running transaction).
  t.teardown(() => release());
  // It writes its event row directly: a user insert would also take one of the tenant's 16 resource-count
  // slots at random, and a later write drawing the same slot would wait for this transaction (1 run in 16).
  const slow = database.db.transaction().execute(async (trx) => {
    await sql`insert into events (tenant_id, type, subject, data) values (${acme.id}, 'user.created', gen_random_uuid()::text, '{"user":{"userName":"slow@acme.test"}}')`.execute(trx);
    inside();
    await held;
  });
  await started;
  await createUser(scim, 'later@acme.test');
  // Rounds while the slow transaction is open never number the later commit (nor anything after it).
  for (let i = 0; i < 5; i++) await sequenceEvents(db, undefined);
  const before = await listEvents(db, acme.id, { after: 0, limit: 10 });
  t.ok(before.length <= 1, 'the later commit waits for the open transaction');
  t.notOk(before.some((e) => (e.data.user as { userName: string }).userName !== 'first@acme.test'));
  release();
  await slow;
  await sequenceAll(db);
  const after = await listEvents(db, acme.id, { after: 0, limit: 10 });
  t.same(after.map((e) => (e.data.user as { userName: string }).userName).sort(), ['first@acme.test', 'later@acme.test', 'slow@acme.test']);
  t.same(after.map((e) => e.sequence), [1, 2, 3]);
});
