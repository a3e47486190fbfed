import { sql } from 'kysely';
import t from 'tap';
import { createGroup, createUser, GROUP_URN, testApp, type ScimClient } from '../helpers/app.js';
import { statementsOf } from '../helpers/statements.js';

type Resource = Record<string, any>;

const groupBody = (displayName: string, members?: string[], extra: Record<string, unknown> = {}) => ({
  schemas: [GROUP_URN],
  displayName,
  ...(members ? { members: members.map((value) => ({ value })) } : {}),
  ...extra,
});

async function memberIds(scim: ScimClient, groupId: string): Promise<string[]> {
  const res = await scim.json('GET', `/Groups/${groupId}`);
  if (res.status !== 200) throw new Error(`GET group: ${res.status}`);
  return (res.body.members ?? []).map((m: Resource) => m.value).sort();
}

async function groupsOf(scim: ScimClient, userId: string): Promise<string[]> {
  const res = await scim.json('GET', `/Users/${userId}`);
  // No groups is an unassigned attribute: absent, not [] (RFC 7643 §2.5).
  return (res.body.groups ?? []).map((g: Resource) => g.display).sort();
}

t.test('POST /Groups with users and a nested group as members', async (t) => {
  const { scim } = await testApp(t);
  const alice = await createUser(scim, 'alice', { displayName: 'Alice A' });
  const bob = await createUser(scim, 'bob');
  const inner = await createGroup(scim, 'Inner');
  const res = await scim.json('POST', '/Groups', groupBody('Outer', [alice, bob, inner, alice.toUpperCase()], { externalId: 'ext-outer' }));
  t.equal(res.status, 201);
  t.equal(res.headers.location, res.body.meta.location);
  t.equal(res.body.displayName, 'Outer');
  t.equal(res.body.externalId, 'ext-outer');
  const byId = new Map(res.body.members.map((m: Resource) => [m.value, m]));
  t.equal(byId.size, 3, 'a member listed twice (any case) is one member');
  t.match(byId.get(alice), { type: 'User', display: 'Alice A', $ref: `http://localhost:80/scim/v2/acme/Users/${alice}` });
  t.match(byId.get(bob), { type: 'User', display: 'bob' }, 'display falls back to userName');
  t.match(byId.get(inner), { type: 'Group', display: 'Inner', $ref: `http://localhost:80/scim/v2/acme/Groups/${inner}` });
  t.same((await scim.json('GET', `/Groups/${res.body.id}`)).body, res.body, 'GET returns what POST returned');
  t.same(await groupsOf(scim, alice), ['Outer']);
  const innerBody = (await scim.json('GET', `/Groups/${inner}`)).body;
  t.notOk('members' in innerBody, 'the nested group keeps its own (no) members: unassigned, so absent');
});

t.test('an unknown member is a 400 invalidValue and nothing is written', async (t) => {
  const { scim, tenant } = await testApp(t);
  const other = await tenant('beta');
  const alice = await createUser(scim, 'alice');
  const foreign = await createUser(other, 'stranger');
  for (const bad of ['00000000-0000-7000-8000-000000000000', 'not-a-uuid', foreign]) {
    const res = await scim.json('POST', '/Groups', groupBody('Team', [alice, bad]));
    t.equal(res.status, 400, bad);
    t.match(res.body, { status: '400', scimType: 'invalidValue', detail: /Unknown member/ });
    t.match(res.body.detail, bad, 'the detail names the id');
  }
  const list = await scim.json('GET', '/Groups?filter=displayName%20eq%20%22Team%22');
  t.equal(list.body.totalResults, 0, 'the group was not created');
  t.same(await groupsOf(scim, alice), [], 'no membership was written');
  const missingValue = await scim.json('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Team', members: [{ type: 'User', display: 'x' }] });
  t.match(missingValue, { status: 400, body: { scimType: 'invalidValue' } }, 'a member without value');
  t.equal((await scim.json('POST', '/Groups', groupBody('Team', [alice]))).status, 201, 'the name is free: the failed POSTs left nothing behind');

  const id = await createGroup(scim, 'Keep', [alice]);
  const put = await scim.json('PUT', `/Groups/${id}`, groupBody('Renamed', ['00000000-0000-7000-8000-000000000000']));
  t.match(put, { status: 400, body: { scimType: 'invalidValue' } });
  const after = await scim.json('GET', `/Groups/${id}`);
  t.equal(after.body.displayName, 'Keep', 'a failed PUT changes nothing, not even the name');
  t.same(after.body.members.map((m: Resource) => m.value), [alice]);
  // Replacing the members (PUT, PATCH replace) checks the ids before the old members are removed.
  const putMalformed = await scim.json('PUT', `/Groups/${id}`, groupBody('Renamed', ['not-a-uuid']));
  t.match(putMalformed, { status: 400, body: { scimType: 'invalidValue', detail: /not-a-uuid/ } }, 'PUT with a member id that is not a UUID');
  const patchMalformed = await scim.json('PATCH', `/Groups/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'members', value: [{ value: 'not-a-uuid' }] }] });
  t.match(patchMalformed, { status: 400, body: { scimType: 'invalidValue' } }, 'PATCH replace of members with an id that is not a UUID');
  t.same((await scim.json('GET', `/Groups/${id}`)).body.members.map((m: Resource) => m.value), [alice], 'membership unchanged');
  const self = await scim.json('PUT', `/Groups/${id}`, groupBody('Keep', [id]));
  t.match(self, { status: 400, body: { scimType: 'invalidValue' } }, 'a group cannot contain itself');
});

t.test('PUT membership: replaces with members, keeps without the key, empties with []', async (t) => {
  const { scim } = await testApp(t);
  const [a, b, c] = [await createUser(scim, 'a'), await createUser(scim, 'b'), await createUser(scim, 'c')];
  const id = await createGroup(scim, 'G', [a, b]);
  const v1 = (await scim.json('GET', `/Groups/${id}`)).body.meta.version;

  const replaced = await scim.json('PUT', `/Groups/${id}`, groupBody('G', [b, c]));
  t.equal(replaced.status, 200);
  t.same(replaced.body.members.map((m: Resource) => m.value).sort(), [b, c].sort(), 'exactly the PUT list');
  t.same(await memberIds(scim, id), [b, c].sort());
  t.not(replaced.body.meta.version, v1, 'version moves on');
  t.same(await groupsOf(scim, a), [], 'a left the group');

  // Documented in src/scim/groups.ts: a rename-only PUT must never wipe membership.
  const renamed = await scim.json('PUT', `/Groups/${id}`, { schemas: [GROUP_URN], displayName: 'G2' });
  t.equal(renamed.status, 200);
  t.equal(renamed.body.displayName, 'G2');
  t.same(await memberIds(scim, id), [b, c].sort(), 'membership kept');
  t.same(await groupsOf(scim, c), ['G2'], 'users see the new name');

  const emptied = await scim.json('PUT', `/Groups/${id}`, groupBody('G2', []));
  t.equal(emptied.status, 200);
  t.notOk('members' in emptied.body, 'an emptied group has no members attribute at all');
  t.same(await memberIds(scim, id), []);
  t.same(await groupsOf(scim, b), []);

  await scim.json('PUT', `/Groups/${id}`, groupBody('G2', [a]));
  const nulled = await scim.json('PUT', `/Groups/${id}`, { schemas: [GROUP_URN], displayName: 'G2', MEMBERS: null });
  t.equal(nulled.status, 200);
  t.same(await memberIds(scim, id), [], '"members": null (any key case) also empties');
});

t.test('user groups follow membership, group deletion and user deletion', async (t) => {
  const { scim } = await testApp(t);
  const alice = await createUser(scim, 'alice');
  const bob = await createUser(scim, 'bob');
  const eng = await createGroup(scim, 'Eng', [alice, bob]);
  const all = await createGroup(scim, 'All', [alice, eng]);

  const user = (await scim.json('GET', `/Users/${alice}`)).body;
  t.same(user.groups.map((g: Resource) => ({ value: g.value, display: g.display, type: g.type })).sort((x: Resource, y: Resource) => x.display.localeCompare(y.display)),
    [{ value: all, display: 'All', type: 'direct' }, { value: eng, display: 'Eng', type: 'direct' }]);
  t.same(await groupsOf(scim, bob), ['Eng'], 'nested membership (Eng in All) is not listed as direct');

  t.equal((await scim.request('DELETE', `/Groups/${eng}`)).statusCode, 204);
  t.same(await groupsOf(scim, alice), ['All'], 'a deleted group disappears from users');
  t.same(await groupsOf(scim, bob), []);
  t.same(await memberIds(scim, all), [alice], 'and from the groups that contained it');

  t.equal((await scim.request('DELETE', `/Users/${alice}`)).statusCode, 204);
  t.same(await memberIds(scim, all), [], 'a deleted user disappears from its groups');
  const list = await scim.json('GET', `/Groups?filter=${encodeURIComponent(`members.value eq "${alice}"`)}`);
  t.equal(list.body.totalResults, 0);
});

t.test('displayName is unique per tenant, case-insensitively: 409 uniqueness', async (t) => {
  const { scim } = await testApp(t);
  await createGroup(scim, 'Engineering');
  const dup = await scim.json('POST', '/Groups', groupBody('ENGINEERING'));
  t.equal(dup.status, 409);
  t.same(dup.body, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
    status: '409',
    scimType: 'uniqueness',
    detail: 'A group named "ENGINEERING" already exists',
  });
  const other = await createGroup(scim, 'Sales');
  const rename = await scim.json('PUT', `/Groups/${other}`, groupBody('engineering'));
  t.match(rename, { status: 409, body: { scimType: 'uniqueness' } });
  const patch = await scim.json('PATCH', `/Groups/${other}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: 'Engineering' }] });
  t.match(patch, { status: 409, body: { scimType: 'uniqueness', detail: 'A group named "Engineering" already exists' } }, 'PATCH');
  t.equal((await scim.json('GET', `/Groups/${other}`)).body.displayName, 'Sales', 'unchanged');
  t.equal((await scim.json('GET', '/Groups')).body.totalResults, 2);
  const missing = await scim.json('POST', '/Groups', { schemas: [GROUP_URN] });
  t.match(missing, { status: 400, body: { scimType: 'invalidValue' } }, 'displayName is required');
});

t.test('excludedAttributes=members leaves members out', async (t) => {
  const { scim } = await testApp(t);
  const alice = await createUser(scim, 'alice');
  const id = await createGroup(scim, 'G', [alice]);
  const got = await scim.json('GET', `/Groups/${id}?excludedAttributes=members`);
  t.equal(got.status, 200);
  t.notOk('members' in got.body);
  t.equal(got.body.displayName, 'G');
  const listed = await scim.json('GET', '/Groups?excludedAttributes=members');
  t.notOk('members' in listed.body.Resources[0]);
  const put = await scim.json('PUT', `/Groups/${id}?excludedAttributes=members`, groupBody('G'));
  t.notOk('members' in put.body, 'PUT response honours it too');
  t.same(await memberIds(scim, id), [alice], 'and the PUT without members kept them');
});

t.test('a 10,000-member PUT is set-wise: as many statements as a 10-member one, and quick', async (t) => {
  const { app, scim, database } = await testApp(t);
  const { id: tenantId } = await database.db.selectFrom('tenants').select('id').where('name', '=', 'acme').executeTakeFirstOrThrow();
  await sql`insert into users (tenant_id, id, user_name, active, data)
    select ${tenantId}, gen_random_uuid(), 'bulk' || i, true, jsonb_build_object('userName', 'bulk' || i)
    from generate_series(1, 10000) as i`.execute(database.db);
  const ids = (await database.db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).orderBy('id').execute()).map((r) => r.id);
  t.equal(ids.length, 10_000);
  const few = await createGroup(scim, 'Few');
  const id = await createGroup(scim, 'Everyone');
  // The request recorder writes its batches on the same pool: nothing of theirs may fall into a count.
  const putCounted = async (group: string, body: unknown) => {
    await app.scimAudit?.flush();
    let res: Awaited<ReturnType<ScimClient['request']>> | undefined;
    const started = Date.now();
    const statements = await statementsOf(database, async () => {
      res = await scim.request('PUT', `/Groups/${group}?excludedAttributes=members`, body);
    });
    return { status: res!.statusCode, statements, ms: Date.now() - started };
  };
  const small = await putCounted(few, groupBody('Few', ids.slice(0, 10)));
  t.equal(small.status, 200);

  const first = await putCounted(id, groupBody('Everyone', ids));
  t.equal(first.status, 200);
  t.equal(first.statements, small.statements, `as many statements for 10,000 members as for 10 (${small.statements})`);
  const count = async () => Number((await sql<{ n: string }>`select count(*) as n from group_members where group_id = ${id}`.execute(database.db)).rows[0]!.n);
  t.equal(await count(), 10_000);

  const half = await putCounted(id, groupBody('Everyone', [...ids.slice(5_000), ...ids.slice(0, 10)]));
  t.equal(half.status, 200);
  t.equal(half.statements, small.statements, 'and for replacing half of them');
  t.equal(await count(), 5_010, 'replacing keeps the overlap, drops the rest');
  const got = await scim.json('GET', `/Groups/${id}`);
  t.equal(got.body.members.length, 5_010);
  t.ok(first.ms < 5_000 && half.ms < 5_000, `PUTs took ${first.ms} ms and ${half.ms} ms`);
});
