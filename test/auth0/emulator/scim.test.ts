import t from 'tap';
import { checkResponses, startHarness } from './harness.js';

const h = await startHarness();
t.teardown(() => h.close());
const ent = h.emu.connections.enterprise;

async function scim(method: string, path: string, body?: unknown, token = ent.scim.token): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${ent.scim.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/scim+json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const alice = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  externalId: 'alice-ext-1',
  userName: 'alice@acme.test',
  name: { givenName: 'Alice', familyName: 'Liddell' },
  emails: [{ value: 'Alice@Acme.test', type: 'work', primary: true }],
  active: true,
};

t.test('POST creates the enterprise user ahead of login; SCIM id is the Auth0 user_id', async (t) => {
  const created = await scim('POST', '/Users', alice);
  t.equal(created.status, 201);
  t.equal(created.body['id'], 'samlp|acme-saml|alice-ext-1');
  const user = await h.mgmt.users.get(String(created.body['id']));
  t.match(user, { email: 'alice@acme.test', given_name: 'Alice', identities: [{ connection: 'acme-saml', provider: 'samlp' }] });

  const org = await h.mgmt.organizations.create({ name: 'scim-org' });
  await h.mgmt.organizations.members.create(org.id ?? '', { members: [user.user_id ?? ''] });
  t.same((await h.mgmt.organizations.members.list(org.id ?? '')).data.map((m) => m.user_id), [user.user_id], 'the SCIM user can be added to an organization before login');

  t.equal((await scim('POST', '/Users', alice)).status, 409, 'duplicate → 409 uniqueness');
  t.equal((await scim('POST', '/Users', { ...alice, externalId: undefined, userName: 'x' })).status, 400, 'externalId builds the user id');
});

t.test('GET by id and filtered list', async (t) => {
  const id = encodeURIComponent('samlp|acme-saml|alice-ext-1');
  const got = await scim('GET', `/Users/${id}`);
  t.match(got.body, { userName: 'alice@acme.test', active: true, meta: { resourceType: 'User' } });
  const list = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "ALICE@acme.test"')}`);
  t.match(list.body, { totalResults: 1, Resources: [{ id: 'samlp|acme-saml|alice-ext-1' }] });
  const none = await scim('GET', `/Users?filter=${encodeURIComponent('externalId eq "nope" or userName eq "nope"')}`);
  t.equal(none.body['totalResults'], 0);
  t.equal((await scim('GET', `/Users?filter=${encodeURIComponent('userName sw "a"')}`)).status, 400, 'only eq/and/or');
});

t.test('PATCH active:false blocks and revokes sessions and refresh tokens', async (t) => {
  const userId = 'samlp|acme-saml|alice-ext-1';
  h.emu.emulator.addSession(userId);
  const patched = await scim('PATCH', `/Users/${encodeURIComponent(userId)}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'Replace', path: 'active', value: 'False' }, { op: 'replace', value: { 'name.givenName': 'Al' } }],
  });
  t.equal(patched.status, 200);
  t.equal(patched.body['active'], false);
  const user = await h.mgmt.users.get(userId);
  t.equal(user.blocked, true);
  t.equal(user.given_name, 'Al');
  t.same(h.emu.emulator.state.user(userId).sessions, []);
  t.same(h.emu.emulator.state.user(userId).refresh_tokens, []);
});

t.test('PUT replaces, DELETE removes the Auth0 user', async (t) => {
  const userId = 'samlp|acme-saml|alice-ext-1';
  const put = await scim('PUT', `/Users/${encodeURIComponent(userId)}`, { ...alice, name: { givenName: 'Alicia' } });
  t.match(put.body, { active: true, name: { givenName: 'Alicia' } });
  t.notOk((await h.mgmt.users.get(userId)).family_name, 'attributes missing from PUT are cleared');
  t.equal((await scim('DELETE', `/Users/${encodeURIComponent(userId)}`)).status, 204);
  t.equal((await scim('GET', `/Users/${encodeURIComponent(userId)}`)).status, 404);
  const gone = await h.mgmt.users.get(userId).catch((e: unknown) => e);
  t.match(gone, { statusCode: 404 });
});

t.test('SCIM auth: token per connection and scopes', async (t) => {
  const bad = await scim('GET', '/Users', undefined, 'wrong');
  t.equal(bad.status, 401);
  t.match(bad.body, { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
  const readOnly = h.emu.emulator.createScimToken(ent.id, ['get:users']);
  t.equal((await scim('GET', '/Users', undefined, readOnly.token)).status, 200);
  t.equal((await scim('POST', '/Users', { ...alice, externalId: 'ro' }, readOnly.token)).status, 403);
  const db = await fetch(`${h.emu.baseUrl}/scim/v2/connections/${h.emu.connections.database.id}/Users`, { headers: { authorization: `Bearer ${ent.scim.token}` } });
  t.equal(db.status, 404, 'no SCIM on a connection without a SCIM configuration');
});

t.test('every Management API response body matches the OpenAPI spec', async (t) => {
  t.ok(checkResponses(t, h) > 5);
});
