import t from 'tap';
import { createGroup, createUser, ENTERPRISE_URN, testApp, type ScimClient } from '../helpers/app.js';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

async function members(scim: ScimClient, groupId: string): Promise<string[]> {
  const res = await scim.json('GET', `/Groups/${groupId}`);
  return ((res.body.members ?? []) as { value: string }[]).map((m) => m.value).sort();
}

async function users(scim: ScimClient, n: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await createUser(scim, `${prefix}${i}`));
  return ids;
}

t.test('PATCH /Users answers 200 with the patched resource; ServiceProviderConfig says PATCH is supported', async (t) => {
  const { scim } = await testApp(t);
  const id = await createUser(scim, 'alice', { name: { givenName: 'Alice' } });
  const res = await scim.json('PATCH', `/Users/${id}`, patch(
    { op: 'replace', path: 'name.familyName', value: 'Liddell' },
    { op: 'add', path: `${ENTERPRISE_URN}:department`, value: 'Eng' },
    { op: 'replace', path: 'active', value: false },
  ));
  t.equal(res.status, 200);
  t.same(res.body.name, { givenName: 'Alice', familyName: 'Liddell' });
  t.equal(res.body[ENTERPRISE_URN].department, 'Eng');
  t.equal(res.body.active, false);
  t.equal(res.headers.etag, res.body.meta.version);
  t.equal((await scim.json('GET', '/ServiceProviderConfig')).body.patch.supported, true);
});

t.test('all operations of a PATCH apply or none: the third invalid operation rolls back the first two', async (t) => {
  const { scim } = await testApp(t);
  const id = await createUser(scim, 'bob', { title: 'Engineer' });
  const before = (await scim.json('GET', `/Users/${id}`)).body;
  const res = await scim.json('PATCH', `/Users/${id}`, patch(
    { op: 'replace', path: 'title', value: 'Manager' },
    { op: 'add', path: 'nickName', value: 'Bobby' },
    { op: 'replace', path: 'noSuchAttribute', value: 'x' },
  ));
  t.equal(res.status, 400);
  t.equal(res.body.scimType, 'invalidPath');
  t.match(res.body.detail, /Operations\[2\]/);
  t.same((await scim.json('GET', `/Users/${id}`)).body, before, 'unchanged');

  const group = await createGroup(scim, 'g', [id]);
  const bad = await scim.json('PATCH', `/Groups/${group}`, patch(
    { op: 'remove', path: 'members' },
    { op: 'replace', path: 'displayName', value: 'renamed' },
    { op: 'add', path: 'members', value: [{ value: '00000000-0000-7000-8000-000000000000' }] },
  ));
  t.equal(bad.status, 400, 'unknown member is a 400, not a 500');
  t.equal(bad.body.scimType, 'invalidValue');
  t.same(await members(scim, group), [id], 'membership not wiped');
  t.equal((await scim.json('GET', `/Groups/${group}`)).body.displayName, 'g', 'not renamed');
});

t.test('group membership follows RFC 7644 §3.5.2 exactly', async (t) => {
  const { scim } = await testApp(t);
  const [a, b, c, d] = await users(scim, 4, 'm');
  const g = await createGroup(scim, 'team', [a!]);

  let res = await scim.request('PATCH', `/Groups/${g}`, patch({ op: 'add', path: 'members', value: [{ value: b }, { value: a }] }));
  t.equal(res.statusCode, 200, 'group PATCH answers 200 with the group by default');
  t.same(await members(scim, g), [a, b].sort(), 'add merges, no duplicates');

  await scim.request('PATCH', `/Groups/${g}`, patch({ op: 'replace', path: 'members', value: [{ value: c }, { value: d }] }));
  t.same(await members(scim, g), [c, d].sort(), 'replace with a list replaces the whole set');

  await scim.request('PATCH', `/Groups/${g}`, patch({ op: 'remove', path: `members[value eq "${c}"]` }));
  t.same(await members(scim, g), [d], 'remove with a filter touches only the matching member');

  await scim.request('PATCH', `/Groups/${g}`, patch({ op: 'add', path: 'members', value: [{ value: a }, { value: b }] }));
  await scim.request('PATCH', `/Groups/${g}`, patch({ op: 'Remove', path: 'members', value: [{ value: a }] }));
  t.same(await members(scim, g), [b, d].sort(), 'Entra/JumpCloud remove with a value array removes just those');

  await scim.request('PATCH', `/Groups/${g}`, patch({ op: 'remove', path: 'members' }));
  t.same(await members(scim, g), [], 'remove without filter clears');

  await scim.request('PATCH', `/Groups/${g}`, patch({ op: 'add', path: 'members', value: [{ value: a }] }));
  await scim.request('PATCH', `/Groups/${g}`, patch({ op: 'replace', path: 'members', value: [] }));
  t.same(await members(scim, g), [], 'an empty replace empties');

  res = await scim.request('PATCH', `/Groups/${g}?excludedAttributes=members`, patch({ op: 'replace', path: 'displayName', value: 'Team' }));
  t.equal(res.statusCode, 200, 'asking for attributes gets 200 with the resource');
  t.equal(JSON.parse(res.body).displayName, 'Team');
  t.notOk('members' in JSON.parse(res.body));
});

t.test('unknown operations and paths are 400s, never 500', async (t) => {
  const { scim } = await testApp(t);
  const id = await createUser(scim, 'carol');
  const g = await createGroup(scim, 'grp');
  for (const [path, body, scimType] of [
    [`/Users/${id}`, patch({ op: 'merge', path: 'title', value: 'x' }), 'invalidSyntax'],
    [`/Users/${id}`, patch({ op: 'replace', path: 'emails[type eq "work"', value: 'x' }), 'invalidPath'],
    [`/Users/${id}`, patch({ op: 'replace', path: 'id', value: 'x' }), 'mutability'],
    [`/Users/${id}`, { schemas: [PATCH_OP] }, 'invalidSyntax'],
    [`/Users/${id}`, { Operations: [{ op: 'add', path: 'title', value: 'x' }] }, 'invalidSyntax'],
    [`/Groups/${g}`, patch({ op: 'remove', path: 'members[display co "x"]' }), 'invalidFilter'],
  ] as const) {
    const res = await scim.json('PATCH', path, body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.equal(res.body.scimType, scimType, JSON.stringify(body));
  }
  t.equal((await scim.json('PATCH', '/Users/00000000-0000-7000-8000-000000000000', patch({ op: 'add', path: 'title', value: 'x' }))).status, 404);
});

t.test('concurrent PATCHes on one group all take effect, none sees a 409', async (t) => {
  const { scim } = await testApp(t);
  const ids = await users(scim, 12, 'c');
  const g = await createGroup(scim, 'busy');
  const results = await Promise.all(ids.map((value) => scim.request('PATCH', `/Groups/${g}`, patch({ op: 'add', path: 'members', value: [{ value }] }))));
  t.same(results.map((r) => r.statusCode), ids.map(() => 200));
  t.same(await members(scim, g), [...ids].sort());
  const removals = await Promise.all(ids.slice(0, 6).map((value) => scim.request('PATCH', `/Groups/${g}`, patch({ op: 'remove', path: `members[value eq "${value}"]` }))));
  t.same(removals.map((r) => r.statusCode), ids.slice(0, 6).map(() => 200));
  t.same(await members(scim, g), ids.slice(6).sort());
});

t.test('one PATCH adds 1,000 members; removing one from a large group leaves the rest', async (t) => {
  const { scim, database } = await testApp(t);
  const tenant = await database.db.selectFrom('tenants').select('id').where('name', '=', 'acme').executeTakeFirstOrThrow();
  // Seed 1,000 users set-wise (the SCIM path for each is covered elsewhere).
  const { sql } = await import('kysely');
  const rows = await sql<{ id: string }>`insert into users (tenant_id, id, user_name, active, data)
    select ${tenant.id}, gen_random_uuid(), 'bulk' || n, true, jsonb_build_object('userName', 'bulk' || n)
    from generate_series(1, 1000) n returning id`.execute(database.db);
  const ids = rows.rows.map((r) => r.id);
  const g = await createGroup(scim, 'big');
  const res = await scim.json('PATCH', `/Groups/${g}`, patch({ op: 'add', path: 'members', value: ids.map((value) => ({ value })) }));
  t.equal(res.status, 200);
  t.equal(res.body.members.length, 1000, 'the answer carries the whole membership');
  const list = await scim.json('GET', `/Groups/${g}`);
  t.equal(list.body.members.length, 1000);
  const remove = await scim.request('PATCH', `/Groups/${g}`, patch({ op: 'remove', path: `members[value eq "${ids[500]}"]` }), { prefer: 'return=minimal' });
  t.equal(remove.statusCode, 204, 'an IdP that asks for no body gets none');
  const after = await members(scim, g);
  t.equal(after.length, 999);
  t.notOk(after.includes(ids[500]!));
  const filtered = await scim.json('GET', `/Groups?filter=${encodeURIComponent(`members.value eq "${ids[10]}"`)}&excludedAttributes=members`);
  t.equal(filtered.body.totalResults, 1);
  t.notOk('members' in filtered.body.Resources[0]);
});
