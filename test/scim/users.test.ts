import t from 'tap';
import { createUser, ENTERPRISE_URN, testApp, USER_URN, userBody } from '../helpers/app.js';

t.test('POST /Users creates a user with meta, Location and ETag', async (t) => {
  const { scim } = await testApp(t);
  const res = await scim.json('POST', '/Users', userBody('alice@example.com', {
    externalId: 'ext-1',
    name: { givenName: 'Alice', familyName: 'Liddell' },
    emails: [{ value: 'alice@example.com', type: 'work', primary: true }],
    [ENTERPRISE_URN]: { department: 'Eng' },
  }));
  t.equal(res.status, 201);
  t.match(res.headers['content-type'], /^application\/scim\+json/);
  const user = res.body;
  t.match(user.id, /^[0-9a-f-]{36}$/);
  t.same(user.schemas, [USER_URN, ENTERPRISE_URN]);
  t.equal(user.userName, 'alice@example.com');
  t.notOk('active' in user, 'active was not sent: unassigned, so absent (the Auth0 sync counts it as active)');
  t.notOk('groups' in user, 'no groups: unassigned, so absent');
  t.equal(user[ENTERPRISE_URN].department, 'Eng');
  t.equal(user.meta.resourceType, 'User');
  t.equal(user.meta.location, `http://localhost:80/scim/v2/acme/Users/${user.id}`);
  t.equal(res.headers.location, user.meta.location);
  t.equal(res.headers.etag, user.meta.version);
  t.match(user.meta.version, /^W\/"\d+"$/);
  t.ok(Date.parse(user.meta.created));

  const got = await scim.json('GET', `/Users/${user.id}`);
  t.equal(got.status, 200);
  t.same(got.body, user, 'GET returns what POST returned');
});

t.test('readOnly id/meta/groups are ignored, password is never returned, unknown attributes are ignored', async (t) => {
  const { scim } = await testApp(t);
  const res = await scim.json('POST', '/Users', userBody('bob', {
    id: 'client-chosen-id',
    meta: { created: '2000-01-01T00:00:00Z' },
    groups: [{ value: 'x' }],
    password: 'Secr3t!pass',
    favouriteColour: 'blue',
    'urn:example:custom:2.0:User': { shoeSize: 44 },
  }));
  t.equal(res.status, 201);
  t.not(res.body.id, 'client-chosen-id');
  t.not(res.body.meta.created, '2000-01-01T00:00:00Z');
  t.notOk('groups' in res.body, 'the readOnly groups sent are ignored');
  t.notOk('password' in res.body);
  t.notOk('favouriteColour' in res.body);
  t.notOk('urn:example:custom:2.0:User' in res.body);
  const got = await scim.request('GET', `/Users/${res.body.id}?attributes=password,userName`);
  t.notOk(JSON.parse(got.body).password, 'not even when asked for');
  t.notMatch(got.body, /Secr3t/);
});

t.test('attribute names are case-insensitive; IdP boolean strings are read as booleans', async (t) => {
  const { scim } = await testApp(t);
  const res = await scim.json('POST', '/Users', {
    schemas: [USER_URN],
    USERNAME: 'carol',
    Active: 'False',
    Emails: [{ Value: 'c@x.test', Primary: 'True', TYPE: 'work' }],
  });
  t.equal(res.status, 201);
  t.equal(res.body.userName, 'carol');
  t.equal(res.body.active, false);
  t.same(res.body.emails, [{ value: 'c@x.test', primary: true, type: 'work' }]);
});

t.test('duplicate userName is a 409 uniqueness, case-insensitively, and writes nothing', async (t) => {
  const { scim } = await testApp(t);
  await createUser(scim, 'Dave@Example.com');
  const dup = await scim.json('POST', '/Users', userBody('dave@example.COM'));
  t.equal(dup.status, 409);
  t.same(dup.body, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
    status: '409',
    scimType: 'uniqueness',
    detail: 'userName "dave@example.COM" is already in use',
  });
  const list = await scim.json('GET', '/Users');
  t.equal(list.body.totalResults, 1);
});

t.test('a missing or wrongly typed attribute is a 400 invalidValue', async (t) => {
  const { scim } = await testApp(t);
  for (const body of [
    { schemas: [USER_URN] },
    userBody(''),
    userBody('x', { active: 'maybe' }),
    userBody('x', { name: 'not an object' }),
    userBody('x', { displayName: { nested: true } }),
    userBody('x', { emails: [{ value: 'a@b', type: 'work' }, true] }),
  ]) {
    const res = await scim.json('POST', '/Users', body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.equal(res.body.scimType, 'invalidValue');
    t.equal(res.body.status, '400');
  }
  t.equal((await scim.json('GET', '/Users')).body.totalResults, 0, 'nothing was written');
});

t.test('PUT replaces the resource: omitted attributes are cleared, version moves on', async (t) => {
  const { scim } = await testApp(t);
  const created = await scim.json('POST', '/Users', userBody('erin', { title: 'Engineer', nickName: 'E' }));
  const id = created.body.id;
  const put = await scim.json('PUT', `/Users/${id}`, userBody('erin', { title: 'Manager', active: false }));
  t.equal(put.status, 200);
  t.equal(put.body.title, 'Manager');
  t.notOk('nickName' in put.body, 'nickName cleared');
  t.equal(put.body.active, false);
  t.equal(put.body.meta.created, created.body.meta.created);
  t.not(put.body.meta.version, created.body.meta.version);
  t.ok(put.body.meta.lastModified >= created.body.meta.lastModified);
  t.equal(put.headers.etag, put.body.meta.version);
});

t.test('PUT to another user\'s userName is a 409; PUT on a missing user is 404', async (t) => {
  const { scim } = await testApp(t);
  await createUser(scim, 'frank');
  const id = await createUser(scim, 'grace');
  const res = await scim.json('PUT', `/Users/${id}`, userBody('FRANK'));
  t.equal(res.status, 409);
  t.equal(res.body.scimType, 'uniqueness');
  const version = (await scim.json('GET', `/Users/${id}`)).body.meta.version;
  const conditional = await scim.json('PUT', `/Users/${id}`, userBody('Frank'), { 'if-match': version });
  t.match(conditional, { status: 409, body: { scimType: 'uniqueness', detail: 'userName "Frank" is already in use' } }, 'PUT with If-Match');
  const patch = await scim.json('PATCH', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'userName', value: 'frank' }] });
  t.match(patch, { status: 409, body: { scimType: 'uniqueness', detail: 'userName "frank" is already in use' } }, 'PATCH');
  t.equal((await scim.json('GET', `/Users/${id}`)).body.userName, 'grace', 'unchanged');
  const missing = await scim.json('PUT', '/Users/00000000-0000-7000-8000-000000000000', userBody('x'));
  t.equal(missing.status, 404);
  t.equal(missing.body.status, '404');
});

t.test('If-Match guards PUT and DELETE; If-None-Match answers 304', async (t) => {
  const { scim } = await testApp(t);
  const created = await scim.json('POST', '/Users', userBody('heidi'));
  const id = created.body.id;
  const etag = created.headers.etag as string;
  const stale = await scim.json('PUT', `/Users/${id}`, userBody('heidi2'), { 'if-match': 'W/"999"' });
  t.equal(stale.status, 412);
  const ok = await scim.json('PUT', `/Users/${id}`, userBody('heidi2'), { 'if-match': etag });
  t.equal(ok.status, 200);
  const notModified = await scim.request('GET', `/Users/${id}`, undefined, { 'if-none-match': ok.headers.etag as string });
  t.equal(notModified.statusCode, 304);
  t.equal(notModified.body, '');
  const staleDelete = await scim.request('DELETE', `/Users/${id}`, undefined, { 'if-match': etag });
  t.equal(staleDelete.statusCode, 412);
  const del = await scim.request('DELETE', `/Users/${id}`, undefined, { 'if-match': ok.headers.etag as string });
  t.equal(del.statusCode, 204);
});

t.test('DELETE removes the user; a second DELETE and a GET are 404', async (t) => {
  const { scim } = await testApp(t);
  const id = await createUser(scim, 'ivan');
  const del = await scim.request('DELETE', `/Users/${id}`);
  t.equal(del.statusCode, 204);
  t.equal(del.body, '');
  t.equal((await scim.json('GET', `/Users/${id}`)).status, 404);
  const again = await scim.json('DELETE', `/Users/${id}`);
  t.equal(again.status, 404);
  t.equal(again.body.detail, `User ${id} not found`);
  t.equal((await scim.json('GET', '/Users/not-a-uuid')).status, 404);
});

t.test('Entra-style POST body is accepted as sent', async (t) => {
  const { scim } = await testApp(t);
  const res = await scim.json('POST', '/Users', {
    schemas: [USER_URN, ENTERPRISE_URN],
    externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
    userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1',
    active: true,
    emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b@testuser.com' }],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [],
  });
  t.equal(res.status, 201);
  t.equal(res.body.externalId, '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef');
  t.notOk('roles' in res.body, 'the empty roles list Entra sends is unassigned: absent');
});
