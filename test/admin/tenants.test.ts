import t from 'tap';
import { requireTenant } from '../../src/admin/tenants.js';
import { adminCaller, operator, orgAdmin } from '../helpers/admin.js';
import { sql } from 'kysely';
import { testApp, userBody } from '../helpers/app.js';

t.test('operators manage tenants; bad input is a 4xx naming the problem and writes nothing', async (t) => {
  const { app, database } = await testApp(t, { PUBLIC_URL: 'https://provisio.example.com' });
  const op = await operator(app, database);

  const created = await op('POST', '/tenants', { name: 'globex', displayName: 'Globex Corp', token: { label: 'entra', scopes: ['users:read', 'users:write'] } });
  t.equal(created.status, 201);
  t.equal(created.body.scimBaseUrl, 'https://provisio.example.com/scim/v2/globex');
  t.match(created.body.token, /^prv_/);
  t.same(created.body.tokenInfo.scopes, ['users:read', 'users:write']);
  const scim = await app.inject({ method: 'GET', url: '/scim/v2/globex/Users', headers: { authorization: `Bearer ${created.body.token}` } });
  t.equal(scim.statusCode, 200, 'the returned token works on the SCIM endpoint');

  t.same((await op('GET', '/tenants')).body.tenants.map((x: { name: string }) => x.name), ['acme', 'globex']);
  t.equal((await op('PATCH', '/tenants/globex', { displayName: 'Globex' })).body.tenant.displayName, 'Globex');
  t.equal((await op('PATCH', '/tenants/globex', { scimDialect: 'entra' })).body.tenant.scimDialect, 'entra', 'the IdP dialect can be pinned');
  t.equal((await op('PATCH', '/tenants/globex', { scimDialect: 'auto' })).body.tenant.scimDialect, 'auto', 'and unpinned');
  t.equal((await op('PATCH', '/tenants/globex', { scimDialect: 'klingon' })).status, 400);
  t.equal((await op('PATCH', '/tenants/globex', {})).status, 400, 'an empty change is a 400');
  const shown = await op('GET', '/tenants/globex');
  t.same({ bound: shown.body.bound, counts: shown.body.sync.counts }, { bound: false, counts: {} });

  const cases: [string, Promise<{ status: number; body: any }>, number, RegExp][] = [
    ['duplicate name', op('POST', '/tenants', { name: 'globex' }), 409, /already exists/],
    ['bad name', op('POST', '/tenants', { name: 'Not A Slug' }), 400, /lower-case/],
    ['missing name', op('POST', '/tenants', {}), 400, /name/],
    ['unknown field', op('POST', '/tenants', { name: 'x1', colour: 'red' }), 400, /additional properties/],
    ['unknown scope', op('POST', '/tenants', { name: 'x2', token: { scopes: ['users:delete'] } }), 400, /unknown scope/],
    ['bad expiry', op('POST', '/tenants', { name: 'x3', token: { expiresIn: 'soon' } }), 400, /expiry/],
    ['malformed JSON', op('POST', '/tenants', '{"name":'), 400, /JSON/],
    ['unknown tenant', op('GET', '/tenants/nobody'), 404, /no tenant/],
    ['unknown route', op('GET', '/nothing-here'), 404, /No admin endpoint/],
    ['unbound tenant rules', op('GET', '/tenants/globex/rules'), 409, /not bound/],
  ];
  for (const [what, pending, status, message] of cases) {
    const res = await pending;
    t.equal(res.status, status, `${what} → ${status}`);
    t.match(res.body, { statusCode: status, code: String, message }, what);
  }
  t.same((await op('GET', '/tenants')).body.tenants.map((x: { name: string }) => x.name), ['acme', 'globex'], 'no failed create left a tenant');

  t.equal((await op('DELETE', '/tenants/globex')).status, 204);
  t.equal((await op('GET', '/tenants/globex')).status, 404);
  t.equal(scim.statusCode, 200);
  const after = await app.inject({ method: 'GET', url: '/scim/v2/globex/Users', headers: { authorization: `Bearer ${created.body.token}` } });
  t.equal(after.statusCode, 401, 'a deleted tenant\'s tokens stop working');
});

t.test('SCIM tokens: issue, list without secrets, rotate with and without overlap, revoke at once', async (t) => {
  const { app, database } = await testApp(t);
  const acme = await requireTenant(database.db, 'acme');
  const admin = await orgAdmin(app, database, acme);
  const scimGet = async (token: string) => (await app.inject({ method: 'GET', url: '/scim/v2/acme/Users', headers: { authorization: `Bearer ${token}` } })).statusCode;

  const issued = await admin('POST', '/tenants/acme/scim-tokens', { label: 'okta', expiresIn: '90d' });
  t.equal(issued.status, 201);
  t.equal(await scimGet(issued.body.token), 200);
  const listed = await admin('GET', '/tenants/acme/scim-tokens');
  t.equal(listed.body.tokens.length, 2, 'the initial token and the new one');
  t.notMatch(JSON.stringify(listed.body), issued.body.token, 'the secret is never listed');
  t.notMatch(JSON.stringify(listed.body), /token_hash|hash/, 'nor its hash');

  const rotated = await admin('POST', `/tenants/acme/scim-tokens/${issued.body.tokenInfo.id}/rotate`, {});
  t.equal(rotated.status, 201);
  t.equal(rotated.body.tokenInfo.label, 'okta', 'the replacement keeps the label');
  t.equal(rotated.body.previous.status, 'revoked');
  t.equal(await scimGet(issued.body.token), 401, 'without overlap the old token stops at once');
  t.equal(await scimGet(rotated.body.token), 200, 'the replacement works');

  const overlapped = await admin('POST', `/tenants/acme/scim-tokens/${rotated.body.tokenInfo.id}/rotate`, { overlap: '1h' });
  t.equal(overlapped.status, 201);
  t.equal(await scimGet(rotated.body.token), 200, 'with an overlap the old token keeps working for now');
  const ends = Date.parse(overlapped.body.previous.expiresAt) - Date.now();
  t.ok(ends > 59 * 60_000 && ends <= 60 * 60_000, 'and ends within the hour');

  t.equal((await admin('POST', `/tenants/acme/scim-tokens/${issued.body.tokenInfo.id}/rotate`, {})).status, 409, 'a revoked token cannot be rotated');
  t.equal((await admin('POST', '/tenants/acme/scim-tokens', { expiresIn: '99999999999d' })).status, 400, 'an absurd lifetime is a 400, not a 500');
  const bare = await admin('POST', '/tenants/acme/scim-tokens');
  t.equal(bare.status, 201, 'a POST without a body issues a token with the defaults');
  t.equal((await admin('POST', `/tenants/acme/scim-tokens/${bare.body.tokenInfo.id}/rotate`)).status, 201, 'and rotates without a body');
  t.equal((await admin('POST', `/tenants/acme/scim-tokens/${issued.body.tokenInfo.id}/rotate`, { overlap: 'a while' })).status, 400);
  t.equal((await admin('DELETE', '/tenants/acme/scim-tokens/not-a-uuid')).status, 404, 'an id that is not a UUID names nothing: 404');
  t.equal((await admin('DELETE', '/tenants/acme/scim-tokens/00000000-0000-4000-8000-000000000000')).status, 404);

  const revoked = await admin('DELETE', `/tenants/acme/scim-tokens/${overlapped.body.tokenInfo.id}`);
  t.equal(revoked.body.tokenInfo.status, 'revoked');
  t.equal(await scimGet(overlapped.body.token), 401, 'a revoked token is refused on the next request');
  t.equal((await admin('DELETE', `/tenants/acme/scim-tokens/${overlapped.body.tokenInfo.id}`)).status, 200, 'revoking twice is fine');

  const audit = await admin('GET', '/tenants/acme/audit');
  t.same(audit.body.entries.map((e: { action: string }) => e.action),
    ['scim-token.revoke', 'scim-token.revoke', 'scim-token.rotate', 'scim-token.issue', 'scim-token.rotate', 'scim-token.rotate', 'scim-token.issue'], 'every write is in the audit trail (the repeated revoke too), newest first');
  t.match(audit.body.entries[0].actor, /^token:/);
  t.notMatch(JSON.stringify(audit.body), /prv_/, 'the audit trail never holds a secret');
});

t.test('a delegated org admin reaches their own tenant and nothing of any other', async (t) => {
  const { app, database, tenant } = await testApp(t);
  await tenant('globex');
  const acme = await requireTenant(database.db, 'acme');
  const admin = await orgAdmin(app, database, acme);
  const globexToken = (await operator(app, database));
  const globexTokenId = (await globexToken('GET', '/tenants/globex/scim-tokens')).body.tokens[0].id as string;

  t.equal((await admin('GET', '/tenants/acme')).status, 200);
  t.equal((await admin('GET', '/tenants/acme/users')).status, 200);

  const uuid = '00000000-0000-4000-8000-000000000000';
  const foreign: [string, string, unknown?][] = [
    ['GET', '/tenants/globex'], ['GET', '/tenants/globex/scim-tokens'], ['POST', '/tenants/globex/scim-tokens', {}],
    ['DELETE', `/tenants/globex/scim-tokens/${globexTokenId}`], ['POST', `/tenants/globex/scim-tokens/${globexTokenId}/rotate`, {}],
    ['GET', '/tenants/globex/users'], ['GET', `/tenants/globex/users/${uuid}`], ['POST', `/tenants/globex/users/${uuid}/block`, {}],
    ['POST', `/tenants/globex/users/${uuid}/unblock`, {}], ['POST', `/tenants/globex/users/${uuid}/remove-from-org`, {}],
    ['POST', `/tenants/globex/users/${uuid}/add-to-org`, {}], ['DELETE', `/tenants/globex/users/${uuid}`],
    ['GET', '/tenants/globex/rules'], ['PUT', '/tenants/globex/rules', {}], ['POST', '/tenants/globex/rules/test', { groups: [] }],
    ['GET', '/tenants/globex/sync'], ['POST', '/tenants/globex/sync/release'],
    ['GET', '/tenants/globex/audit'], ['GET', '/tenants/globex/binding'], ['GET', '/tenants/globex/invitations'],
    ['POST', '/tenants/globex/invitations', { email: 'x@globex.com' }], ['DELETE', '/tenants/globex/invitations/inv_1'],
    ['GET', '/tenants/no-such-tenant'],
  ];
  for (const [method, path, body] of foreign) {
    const res = await admin(method as 'GET', path, body);
    t.equal(res.status, 403, `${method} ${path} → 403`);
  }
  const operatorOnly: [string, string, unknown?][] = [
    ['GET', '/tenants'], ['POST', '/tenants', { name: 'evil' }], ['PATCH', '/tenants/acme', { displayName: 'x' }], ['DELETE', '/tenants/acme'],
    ['PUT', '/tenants/acme/binding', { binding: {} }], ['GET', '/admin-tokens'], ['POST', '/admin-tokens', { tenant: 'globex' }],
    ['DELETE', `/admin-tokens/${uuid}`], ['POST', '/tenants/acme/reconcile', {}],
  ];
  for (const [method, path, body] of operatorOnly) {
    const res = await admin(method as 'GET', path, body);
    t.equal(res.status, 403, `operator-only ${method} ${path} → 403`);
  }
  t.equal((await globexToken('GET', '/tenants/globex/scim-tokens')).body.tokens[0].status, 'active', 'the other tenant\'s token was not touched');
  t.ok(await requireTenant(database.db, 'acme'), 'nor was the admin\'s own tenant deleted');
});

t.test('admin tokens through the API: delegated tokens, listing without secrets, revocation', async (t) => {
  const { app, database, tenant } = await testApp(t);
  await tenant('globex');
  const op = await operator(app, database);
  const issued = await op('POST', '/admin-tokens', { tenant: 'globex', label: 'globex it', expiresIn: '30d' });
  t.equal(issued.status, 201);
  t.match(issued.body, { tokenInfo: { scope: 'tenant', tenant: 'globex', label: 'globex it', status: 'active' } });
  const delegated = adminCaller(app, issued.body.token);
  t.equal((await delegated('GET', '/tenants/globex')).status, 200);
  t.equal((await delegated('GET', '/tenants/acme')).status, 403);
  t.equal((await op('POST', '/admin-tokens', { tenant: 'nobody' })).status, 404);

  const listed = await op('GET', '/admin-tokens?tenant=globex');
  t.same(listed.body.tokens.map((x: { label: string }) => x.label), ['globex it']);
  t.notMatch(JSON.stringify(listed.body), issued.body.token);
  t.equal((await op('DELETE', `/admin-tokens/${issued.body.tokenInfo.id}`)).body.tokenInfo.status, 'revoked');
  t.equal((await delegated('GET', '/tenants/globex')).status, 401, 'revoked at once');
});

t.test('OpenAPI description at /docs and health probes', async (t) => {
  const { app } = await testApp(t);
  const spec = JSON.parse((await app.inject({ method: 'GET', url: '/docs/json' })).body);
  t.equal(spec.openapi.slice(0, 2), '3.');
  const paths = Object.keys(spec.paths);
  for (const p of ['/v1/admin/tenants', '/v1/admin/tenants/{tenant}/users', '/v1/admin/tenants/{tenant}/users/{id}/block', '/v1/admin/admin-tokens', '/v1/admin/tenants/{tenant}/scim-tokens/{id}/rotate', '/healthz', '/readyz']) {
    t.ok(paths.includes(p), `documents ${p}`);
  }
  t.notOk(paths.some((p) => p.startsWith('/scim')), 'SCIM is described by its own discovery endpoints, not here');
  t.same(spec.paths['/v1/admin/tenants'].post.security, [{ adminToken: [] }, { auth0AccessToken: [] }]);
  t.ok(spec.paths['/v1/admin/tenants'].post.requestBody, 'request bodies are described');
  t.equal((await app.inject({ method: 'GET', url: '/docs/' })).statusCode, 200, 'the UI is served');
  t.same(JSON.parse((await app.inject({ method: 'GET', url: '/healthz' })).body), { status: 'ok' });
  t.match(JSON.parse((await app.inject({ method: 'GET', url: '/readyz' })).body), { status: 'ready', sync: 'disabled' });
});

t.test('tenant health: every tenant at a glance, a page at a time, in one request', async (t) => {
  const { app, database, scim, tenant } = await testApp(t);
  const op = await operator(app, database);
  const globex = await tenant('globex');
  await tenant('initech');
  for (const name of ['ada', 'grace']) t.equal((await scim.json('POST', '/Users', userBody(`${name}@acme.test`))).status, 201);
  t.equal((await scim.json('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'] })).status, 400);
  t.equal((await globex.json('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Staff' })).status, 201);
  // A pending user in acme, as the sync leaves it until Auth0 has it.
  const acme = await requireTenant(database.db, 'acme');
  await sql`insert into user_sync (tenant_id, user_id, status, changed_at)
    select tenant_id, id, 'pending', now() - interval '5 minutes' from users where tenant_id = ${acme.id} and user_name = 'ada@acme.test'`.execute(database.db);
  await app.scimAudit!.flush();

  const all = await op('GET', '/tenant-health');
  t.equal(all.status, 200);
  t.same(all.body.tenants.map((x: { name: string }) => x.name), ['acme', 'globex', 'initech']);
  const [a, g, i] = all.body.tenants;
  t.match(a, { users: 2, groups: 0, requests: 3, errors: 1, bound: false, sync: { pending: 1 }, held: 0 });
  t.ok(Date.now() - Date.parse(a.oldestPendingAt) >= 5 * 60_000 - 1000, 'the oldest waiting change says how far behind the sync is');
  t.match(g, { users: 0, groups: 1, requests: 1, errors: 0, oldestPendingAt: null });
  t.match(i, { users: 0, groups: 0, requests: 0, lastRequestAt: null });
  t.ok(Date.parse(a.lastRequestAt) > Date.now() - 60_000);
  t.equal(all.body.next, null);

  const first = await op('GET', '/tenant-health?limit=2');
  t.same(first.body.tenants.map((x: { name: string }) => x.name), ['acme', 'globex']);
  t.equal(first.body.next, 'globex');
  const second = await op('GET', `/tenant-health?limit=2&after=${first.body.next}`);
  t.same(second.body.tenants.map((x: { name: string }) => x.name), ['initech']);
  t.equal(second.body.next, null);

  t.equal((await op('GET', '/tenant-health?limit=0')).status, 400);
  const delegated = await orgAdmin(app, database, acme);
  t.equal((await delegated('GET', '/tenant-health')).status, 403, 'a delegated admin does not see other tenants');
});
