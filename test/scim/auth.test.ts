import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { pino } from 'pino';
import t from 'tap';
import { createTenant } from '../../src/admin/tenants.js';
import { issueToken } from '../../src/admin/tokens.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { revokeToken } from '../../src/db/tokens.js';
import { loggerOptions } from '../../src/log.js';
import { createGroup, createUser, GROUP_URN, testApp, userBody, type TestApp } from '../helpers/app.js';
import { testDatabase } from '../helpers/db.js';

const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

async function tenantId(app: TestApp, name: string): Promise<string> {
  const row = await app.database.db.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirstOrThrow();
  return row.id;
}

/** Asserts a 401 SCIM error with a Bearer challenge. */
function assert401(t: Tap, res: { statusCode: number; headers: Record<string, unknown>; body: string }, what: string): void {
  t.equal(res.statusCode, 401, `${what}: 401`);
  t.match(res.headers['www-authenticate'], /^Bearer realm=/, `${what}: WWW-Authenticate`);
  t.match(res.headers['content-type'], /^application\/scim\+json/, `${what}: content type`);
  t.match(JSON.parse(res.body), { schemas: [ERROR_URN], status: '401' }, `${what}: SCIM error body`);
}
type Tap = Pick<typeof t, 'equal' | 'match'>;

t.test('missing, malformed and unknown tokens are 401 with WWW-Authenticate', async (t) => {
  const { app, scim } = await testApp(t);
  const inject = (authorization?: string) =>
    app.inject({ method: 'GET', url: '/scim/v2/acme/Users', headers: authorization === undefined ? {} : { authorization } });
  assert401(t, await inject(), 'no Authorization header');
  for (const header of ['Basic YWxpY2U6c2VjcmV0', 'Bearer', 'Bearer ', `Bearer ${scim.token} extra`, scim.token, `Token ${scim.token}`]) {
    assert401(t, await inject(header), `Authorization: ${header.replace(scim.token, '<token>')}`);
  }
  assert401(t, await inject(`Bearer ${scim.token}x`), 'unknown token');
  assert401(t, await inject('Bearer prv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), 'well-formed unknown token');
  t.equal((await inject(`bearer ${scim.token}`)).statusCode, 200, 'the scheme is case-insensitive');
  assert401(t, await app.inject({ method: 'POST', url: '/scim/v2/acme/Users', headers: { 'content-type': 'application/scim+json' }, payload: JSON.stringify(userBody('x')) }), 'POST without a token');
  assert401(t, await app.inject({ method: 'GET', url: '/scim/v2/acme/ServiceProviderConfig', headers: { authorization: `Bearer ${scim.token}x` } }), 'discovery with a bad token');
  for (const path of ['ServiceProviderConfig', 'Schemas', `Schemas/${encodeURIComponent('urn:ietf:params:scim:schemas:core:2.0:User')}`, 'ResourceTypes', 'ResourceTypes/User']) {
    const open = await app.inject({ method: 'GET', url: `/scim/v2/acme/${path}` });
    t.equal(open.statusCode, 200, `${path} without a token (RFC 7643 §5: how to authenticate is discoverable)`);
  }
  const anyName = await app.inject({ method: 'GET', url: '/scim/v2/no-such-tenant/ServiceProviderConfig' });
  t.equal(anyName.statusCode, 200, 'the same documents for any tenant name: they tell nobody which tenants exist');
  t.equal(anyName.json().meta.location, 'http://localhost:80/scim/v2/no-such-tenant/ServiceProviderConfig');
  const filtered = await app.inject({ method: 'GET', url: `/scim/v2/acme/Schemas?filter=${encodeURIComponent('id eq "x"')}` });
  t.equal(filtered.statusCode, 403, 'a filter on discovery is a 403 (RFC 7644 §4)');
  t.equal((await app.inject({ method: 'GET', url: `/scim/v2/acme/Users?filter=${encodeURIComponent('userName eq "x"')}`, headers: { authorization: `Bearer ${scim.token}` } })).statusCode, 200, 'not on resources');
  assert401(t, await app.inject({ method: 'GET', url: '/scim/v2/acme/NoSuchEndpoint' }), 'unknown endpoint without a token: auth first');
  t.equal((await scim.json('GET', '/Users')).body.totalResults, 0, 'nothing was created');
});

t.test("a tenant's token is 401 on another tenant's URL", async (t) => {
  const test = await testApp(t);
  const beta = await test.tenant('beta');
  assert401(t, await test.client('acme', beta.token).request('GET', '/Users'), "beta's token on acme");
  assert401(t, await test.client('beta', test.scim.token).request('GET', '/Users'), "acme's token on beta");
  assert401(t, await test.client('nosuch', test.scim.token).request('GET', '/Users'), 'a tenant that does not exist');
  assert401(t, await test.client('ACME', test.scim.token).request('GET', '/Users'), 'tenant names are exact');
});

t.test('cross-tenant isolation: B can read or change nothing of A', async (t) => {
  const test = await testApp(t);
  const a = test.scim;
  const b = await test.tenant('beta');
  const userId = await createUser(a, 'alice', { title: 'Engineer' });
  const groupId = await createGroup(a, 'Admins', [userId]);
  const userBefore = (await a.json('GET', `/Users/${userId}`)).body;
  const groupBefore = (await a.json('GET', `/Groups/${groupId}`)).body;

  for (const [method, path, body] of [
    ['GET', `/Users/${userId}`, undefined],
    ['PUT', `/Users/${userId}`, userBody('hijacked')],
    ['PATCH', `/Users/${userId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] }],
    ['DELETE', `/Users/${userId}`, undefined],
    ['GET', `/Groups/${groupId}`, undefined],
    ['PUT', `/Groups/${groupId}`, { schemas: [GROUP_URN], displayName: 'hijacked', members: [] }],
    ['PATCH', `/Groups/${groupId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'remove', path: 'members' }] }],
    ['DELETE', `/Groups/${groupId}`, undefined],
  ] as const) {
    const res = await b.json(method, path, body);
    t.equal(res.status, 404, `B ${method} ${path.split('/')[1]}: 404, as if it did not exist`);
    t.equal(res.body.status, '404');
  }
  t.same((await a.json('GET', `/Users/${userId}`)).body, userBefore, "A's user is unchanged");
  t.same((await a.json('GET', `/Groups/${groupId}`)).body, groupBefore, "A's group is unchanged, members included");

  const list = await b.json('GET', '/Users');
  t.equal(list.body.totalResults, 0, "B's list shows none of A's users");
  t.equal((await b.json('GET', '/Groups')).body.totalResults, 0, "nor A's groups");
  t.equal((await b.json('GET', `/Users?filter=${encodeURIComponent(`id eq "${userId}"`)}`)).body.totalResults, 0, 'not even by id filter');
  t.equal((await b.json('GET', `/Users?filter=${encodeURIComponent('userName eq "alice"')}`)).body.totalResults, 0, 'nor by userName');
  t.equal((await b.json('POST', '/.search', {})).body.totalResults, 0, 'nor by root search');

  const bGroup = await b.json('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Mine', members: [{ value: userId }] });
  t.equal(bGroup.status, 400, "B cannot make A's user a member");
  t.equal(bGroup.body.scimType, 'invalidValue');
  t.equal((await b.json('POST', '/Users', userBody('alice'))).status, 201, 'userName uniqueness is per tenant');
  t.equal((await b.json('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Admins' })).status, 201, 'so is displayName');
  t.same((await a.json('GET', `/Users/${userId}`)).body.groups.map((g: { value: string }) => g.value), [groupId], "A's user is in A's group only");
});

t.test('revoked and expired tokens are 401; two active tokens both work (rotation)', async (t) => {
  const test = await testApp(t);
  const id = await tenantId(test, 'acme');
  const second = await issueToken(test.database.db, id, { label: 'rotation' });
  const old = test.scim;
  const fresh = test.client('acme', second.token);
  t.equal((await old.json('GET', '/Users')).status, 200, 'the first token works');
  t.equal((await fresh.json('GET', '/Users')).status, 200, 'the second token works at the same time');

  const firstInfo = (await test.database.db.selectFrom('scim_tokens').select('id').where('tenant_id', '=', id).where('label', '<>', 'rotation').executeTakeFirstOrThrow());
  t.ok(await revokeToken(test.database.db, id, firstInfo.id));
  assert401(t, await old.request('GET', '/Users'), 'revoked token');
  t.equal((await fresh.json('GET', '/Users')).status, 200, 'the other token still works after the revocation');

  const expiring = await issueToken(test.database.db, id, { expiresIn: '1h' });
  const soon = test.client('acme', expiring.token);
  t.equal((await soon.json('GET', '/Users')).status, 200, 'works before expiry');
  await sql`update scim_tokens set expires_at = now() - interval '1 second' where id = ${expiring.info.id}`.execute(test.database.db);
  assert401(t, await soon.request('GET', '/Users'), 'expired token');
  t.equal((await fresh.json('GET', '/Users')).status, 200);
});

t.test('scopes: a users:read token reads users and nothing else', async (t) => {
  const test = await testApp(t);
  const id = await tenantId(test, 'acme');
  const userId = await createUser(test.scim, 'alice');
  const groupId = await createGroup(test.scim, 'G', [userId]);
  const reader = test.client('acme', (await issueToken(test.database.db, id, { scopes: ['users:read'] })).token);

  t.equal((await reader.json('GET', '/Users')).body.totalResults, 1, 'can list users');
  t.equal((await reader.json('GET', `/Users/${userId}`)).status, 200, 'can read a user');
  t.equal((await reader.json('POST', '/Users/.search', {})).status, 200, 'can search users');
  for (const [method, path, body] of [
    ['POST', '/Users', userBody('bob')],
    ['PUT', `/Users/${userId}`, userBody('alice2')],
    ['DELETE', `/Users/${userId}`, undefined],
    ['GET', '/Groups', undefined],
    ['GET', `/Groups/${groupId}`, undefined],
    ['POST', '/Groups/.search', {}],
    ['POST', '/Groups', { schemas: [GROUP_URN], displayName: 'H' }],
    ['DELETE', `/Groups/${groupId}`, undefined],
  ] as const) {
    const res = await reader.json(method, path, body);
    t.equal(res.status, 403, `${method} ${path}: 403`);
    t.match(res.body, { schemas: [ERROR_URN], status: '403' });
  }
  const search = await reader.json('POST', '/.search', {});
  t.same(search.body.Resources.map((r: { meta: { resourceType: string } }) => r.meta.resourceType), ['User'], 'root search returns only what the token may read');
  t.equal((await reader.json('GET', '/ServiceProviderConfig')).status, 200, 'discovery needs only a valid token');
  t.equal((await test.scim.json('GET', `/Users/${userId}`)).body.userName, 'alice', 'nothing was changed');
  t.equal((await test.scim.json('GET', '/Groups')).body.totalResults, 1);
});

t.test('the token never appears in logs, even at trace level', async (t) => {
  const database = await testDatabase(t);
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const config = loadConfig({ LOG_LEVEL: 'trace', SCIM_TOKEN_CACHE_MS: '0' });
  const app = await buildApp({ config, database, logger: pino(loggerOptions('trace'), stream) });
  t.teardown(() => app.close());
  const { token, tenant } = await createTenant(database.db, { name: 'acme' });
  const { token: other } = await createTenant(database.db, { name: 'beta' });
  const call = (authorization: string, method: 'GET' | 'POST' = 'GET', url = '/scim/v2/acme/Users', payload?: string) =>
    app.inject({ method, url, headers: { authorization, ...(payload ? { 'content-type': 'application/scim+json' } : {}) }, payload });

  t.equal((await call(`Bearer ${token}`)).statusCode, 200);
  t.equal((await call(`Bearer ${token}`, 'POST', '/scim/v2/acme/Users', JSON.stringify(userBody('alice')))).statusCode, 201);
  t.equal((await call(`Bearer ${token}`, 'POST', '/scim/v2/acme/Users', '{not json')).statusCode, 400);
  t.equal((await call(`Bearer ${token}`, 'GET', '/scim/v2/acme/Users?filter=bad')).statusCode, 400);
  t.equal((await call(`Bearer ${other}`)).statusCode, 401, 'wrong tenant');
  t.equal((await call(`Bearer ${token}x`)).statusCode, 401, 'unknown');
  t.equal((await call(`Basic ${token}`)).statusCode, 401, 'malformed');
  t.equal((await call(`Bearer ${token}`, 'GET', `/scim/v2/beta/Users`)).statusCode, 401);
  const revokedTenant = await database.db.selectFrom('scim_tokens').select('id').where('tenant_id', '=', tenant.id).executeTakeFirstOrThrow();
  await revokeToken(database.db, tenant.id, revokedTenant.id);
  t.equal((await call(`Bearer ${token}`)).statusCode, 401, 'revoked');

  // Someone logging the headers of a request (a debugging line that ships) must still not leak it.
  app.log.debug({ headers: { authorization: `Bearer ${token}` } }, 'request headers');
  app.log.trace({ token }, 'issued token');

  const log = lines.join('');
  t.ok(lines.length >= 20, `requests were logged (${lines.length} lines)`);
  t.match(log, /incoming request/);
  t.match(log, /"msg":"request headers"/, 'the debug line was written');
  t.match(log, /"msg":"issued token"/, 'the trace line was written');
  t.match(log, /\[redacted\]/, 'with the secret redacted');
  t.notMatch(log, token.slice(4), 'the acme token is absent');
  t.notMatch(log, other.slice(4), 'the beta token is absent');
});
