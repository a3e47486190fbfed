import t from 'tap';
import { setTenantSetting } from '../../src/db/tenants.js';
import { createGroup, createUser, GROUP_URN, testApp, userBody } from '../helpers/app.js';

const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const patch = (...operations: object[]) => ({ schemas: [PATCH_URN], Operations: operations });

t.test('PATCH answers 200 with the resource for Users and Groups; 204 when the client or the pinned dialect prefers it', async (t) => {
  const { scim, database } = await testApp(t);
  const alice = await createUser(scim, 'alice', { title: 'Engineer' });
  const group = await createGroup(scim, 'Eng');

  const user = await scim.json('PATCH', `/Users/${alice}`, patch({ op: 'replace', path: 'title', value: 'Lead' }));
  t.equal(user.status, 200);
  t.equal(user.body.title, 'Lead');
  t.equal(user.headers.etag, user.body.meta.version);
  const grp = await scim.json('PATCH', `/Groups/${group}`, patch({ op: 'add', path: 'members', value: [{ value: alice }] }));
  t.equal(grp.status, 200, 'a group PATCH answers 200 too');
  t.match(grp.body.members, [{ value: alice, type: 'User', display: 'alice' }]);
  t.equal(grp.headers.etag, grp.body.meta.version);
  const projected = await scim.json('PATCH', `/Groups/${group}?excludedAttributes=members`, patch({ op: 'replace', path: 'displayName', value: 'Engineering' }));
  t.equal(projected.status, 200);
  t.notOk('members' in projected.body, 'excludedAttributes is honoured');
  t.equal(projected.body.displayName, 'Engineering');

  const minimal = await scim.request('PATCH', `/Users/${alice}`, patch({ op: 'replace', path: 'title', value: 'Staff' }), { prefer: 'return=minimal' });
  t.equal(minimal.statusCode, 204, 'Prefer: return=minimal (RFC 7240) gets 204');
  t.equal(minimal.body, '');
  t.equal(minimal.headers['preference-applied'], 'return=minimal');
  t.match(minimal.headers.etag, /^W\/"\d+"$/, 'with the new ETag');
  t.equal((await scim.json('GET', `/Users/${alice}`)).body.title, 'Staff', 'and the change is applied');
  t.equal((await scim.request('PATCH', `/Groups/${group}`, patch({ op: 'replace', path: 'displayName', value: 'E' }), { Prefer: 'handling=lenient, return=minimal' })).statusCode, 204);

  const tenant = await database.db.selectFrom('tenants').select('id').where('name', '=', 'acme').executeTakeFirstOrThrow();
  await setTenantSetting(database.db, tenant.id, 'scimDialect', 'entra');
  t.equal((await scim.request('PATCH', `/Groups/${group}`, patch({ op: 'replace', path: 'displayName', value: 'E2' }))).statusCode, 204, 'pinned Entra: group PATCH 204');
  t.equal((await scim.request('PATCH', `/Users/${alice}`, patch({ op: 'replace', path: 'title', value: 'x' }))).statusCode, 200, 'pinned Entra: user PATCH still 200');
  const asked = await scim.json('PATCH', `/Groups/${group}`, patch({ op: 'replace', path: 'displayName', value: 'E3' }), { prefer: 'return=representation' });
  t.equal(asked.status, 200, 'return=representation wins over the dialect');
  t.equal(asked.body.displayName, 'E3');
});

t.test('unassigned is absent: empty lists and removed single values are not rendered; an unassigned active blocks nobody', async (t) => {
  const { scim, database } = await testApp(t);
  const bare = await scim.json('POST', '/Users', userBody('bare'));
  t.equal(bare.status, 201);
  for (const name of ['active', 'groups', 'emails']) t.notOk(name in bare.body, `${name} absent when never assigned`);

  const id = await createUser(scim, 'carol', { active: true, title: 'T', emails: [{ value: 'carol@example.com', type: 'work', primary: true }] });
  const removed = await scim.json('PATCH', `/Users/${id}`, patch({ op: 'remove', path: 'emails[type eq "work"]' }, { op: 'remove', path: 'title' }, { op: 'remove', path: 'active' }));
  t.equal(removed.status, 200);
  for (const name of ['emails', 'title', 'active']) t.notOk(name in removed.body, `${name} removed: absent, not [] or null`);
  const got = (await scim.json('GET', `/Users/${id}`)).body;
  t.same(got, removed.body, 'GET reads back the same');
  const row = await database.db.selectFrom('users').select('active').where('id', '=', id).executeTakeFirstOrThrow();
  t.equal(row.active, true, 'the sync and the Post-Login check see an unassigned active as active');
  const filtered = await scim.json('GET', `/Users?filter=${encodeURIComponent('active eq true and userName eq "carol"')}`);
  t.equal(filtered.body.totalResults, 1, 'and so does a filter on active');

  const off = await scim.json('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'active', value: false }));
  t.equal(off.body.active, false, 'assigning it again renders it');
  const nulled = await scim.json('PUT', `/Users/${id}`, userBody('carol', { active: null }));
  t.notOk('active' in nulled.body, 'PUT with "active": null unassigns it');

  const group = await scim.json('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Empty', members: [] });
  t.notOk('members' in group.body, 'a group without members has no members attribute');
  t.notOk('members' in (await scim.json('GET', `/Groups/${group.body.id}`)).body);
});

t.test('attributes and excludedAttributes take value paths; unknown names are ignored', async (t) => {
  const { scim } = await testApp(t);
  const emails = [
    { value: 'dan@work.example', type: 'work', primary: true },
    { value: 'dan@home.example', type: 'home' },
    { value: 'dan,comma@other.example', type: 'other' },
  ];
  const id = await createUser(scim, 'dan', { emails, title: 'T' });
  const q = (params: string) => scim.json('GET', `/Users/${id}?${params}`);

  const work = await q(`attributes=${encodeURIComponent('emails[type eq "work"]')}`);
  t.equal(work.status, 200);
  t.same(work.body.emails, [emails[0]], 'only the work email');
  t.notOk('title' in work.body);
  t.ok(work.body.id && work.body.schemas, 'id and schemas are always returned');
  const values = await q(`attributes=${encodeURIComponent('emails[type eq "work" or type eq "home"].value,userName')}`);
  t.same(values.body.emails, [{ value: emails[0]!.value }, { value: emails[1]!.value }], 'a sub-attribute after the filter');
  t.equal(values.body.userName, 'dan');
  const comma = await q(`attributes=${encodeURIComponent('emails[value co ","],title')}`);
  t.same(comma.body.emails, [emails[2]], 'a comma inside a filter literal does not split the list');
  t.equal(comma.body.title, 'T');
  const noHome = await q(`excludedAttributes=${encodeURIComponent('emails[type eq "home"]')}`);
  t.same(noHome.body.emails, [emails[0], emails[2]], 'excludedAttributes drops the matching values only');
  t.equal(noHome.body.title, 'T');
  const none = await q(`attributes=${encodeURIComponent('emails[type eq "fax"]')},userName`);
  t.notOk('emails' in none.body, 'no matching value: the attribute is absent');

  const unknown = await q('attributes=nosuch,userName,members');
  t.equal(unknown.status, 200, 'unknown names (and other resource types\' names) are ignored');
  t.same(Object.keys(unknown.body).sort(), ['id', 'schemas', 'userName']);
  t.equal((await q('excludedAttributes=name.nosuch')).status, 200);

  const listed = await scim.json('GET', `/Users?filter=${encodeURIComponent('userName eq "dan"')}&attributes=${encodeURIComponent('emails[type eq "home"].value')}`);
  t.same(listed.body.Resources[0].emails, [{ value: emails[1]!.value }], 'lists apply it to every resource');
  const searched = await scim.json('POST', '/Users/.search', { filter: 'userName eq "dan"', attributes: ['emails[primary eq true]'] });
  t.same(searched.body.Resources[0].emails, [emails[0]], 'and so does /.search');

  const bad = await q(`attributes=${encodeURIComponent('emails[type eq]')}`);
  t.equal(bad.status, 400, 'a value filter that does not parse is still a 400');
  t.equal(bad.body.scimType, 'invalidFilter');
});

t.test('resource endpoints are found whatever their case, with or without a trailing slash', async (t) => {
  const { scim } = await testApp(t);
  const id = await createUser(scim, 'erin');
  for (const path of ['/users', '/USERS', '/Users/', `/users?filter=${encodeURIComponent('userName eq "erin"')}`, `/Users/?filter=${encodeURIComponent('userName eq "erin"')}`]) {
    const res = await scim.json('GET', path);
    t.equal(res.status, 200, path);
    t.equal(res.body.totalResults, 1, `${path}: a list, the slash is not taken for an empty id`);
  }
  t.equal((await scim.json('GET', `/uSeRs/${id}`)).body.userName, 'erin');
  t.equal((await scim.json('GET', `/Users/${id}/`)).body.userName, 'erin');
  t.equal((await scim.json('POST', '/USERS', userBody('frank'))).status, 201);
  t.equal((await scim.json('POST', '/groups', { schemas: [GROUP_URN], displayName: 'G' })).status, 201);
  t.equal((await scim.json('POST', '/users/.SEARCH', { filter: 'userName eq "frank"' })).body.totalResults, 1);
  t.equal((await scim.json('GET', '/serviceproviderconfig')).status, 200);
  t.equal((await scim.json('GET', '/resourcetypes/User')).status, 200);
  const missing = await scim.json('GET', '/Users/00000000-0000-7000-8000-000000000000/');
  t.equal(missing.status, 404, 'an unknown id is still a 404');
});

t.test('server-filled sub-attributes are the same in every answer', async (t) => {
  const { scim } = await testApp(t);
  const alice = await createUser(scim, 'alice', { displayName: 'Alice A' });
  const bob = await createUser(scim, 'bob');
  const posted = await scim.json('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'G', members: [{ value: alice }] });
  const get = async () => (await scim.json('GET', `/Groups/${posted.body.id}`)).body;
  t.same(posted.body, await get(), 'POST');
  const put = await scim.json('PUT', `/Groups/${posted.body.id}`, { schemas: [GROUP_URN], displayName: 'G', members: [{ value: alice }, { value: bob, display: 'sent by the client' }] });
  t.same(put.body, await get(), 'PUT');
  t.match(put.body.members, [{ value: alice, display: 'Alice A', type: 'User' }, { value: bob, display: 'bob', type: 'User' }], 'display is the server\'s, not the client\'s');
  const patched = await scim.json('PATCH', `/Groups/${posted.body.id}`, patch({ op: 'remove', path: `members[value eq "${bob}"]` }));
  t.same(patched.body, await get(), 'PATCH');
  const user = await scim.json('PATCH', `/Users/${alice}`, patch({ op: 'replace', path: 'title', value: 'x' }));
  t.same(user.body, (await scim.json('GET', `/Users/${alice}`)).body, 'a user PATCH answers its groups like GET');
  t.match(user.body.groups, [{ value: posted.body.id, display: 'G', type: 'direct' }]);
});
