import Fastify from 'fastify';
import fastifyJwt from '@fastify/jwt';
import t from 'tap';
import { issueAdminToken } from '../../src/admin/admin-tokens.js';
import { requireTenant } from '../../src/admin/tenants.js';
import { revokeAdminToken } from '../../src/db/admin-tokens.js';
import { saveSyncConfig } from '../../src/db/sync.js';
import { adminCaller, localIssuer, operator } from '../helpers/admin.js';
import { testApp } from '../helpers/app.js';

const AUDIENCE = 'https://provisio.test/admin';

t.test('admin tokens: operator, delegated, revoked, expired, unknown and SCIM tokens', async (t) => {
  const { app, database, scim } = await testApp(t);
  const none = await adminCaller(app, undefined)('GET', '/me');
  t.equal(none.status, 401);
  t.equal(none.headers['www-authenticate'], 'Bearer realm="provisio-admin"', 'a challenge without error when no token was sent');
  t.equal(none.body.code, 'unauthorized');

  const op = await operator(app, database);
  t.same((await op('GET', '/me')).body.kind, 'operator');

  const acme = await requireTenant(database.db, 'acme');
  const delegated = await issueAdminToken(database.db, { tenant: acme });
  const me = await adminCaller(app, delegated.token)('GET', '/me');
  t.same({ kind: me.body.kind, tenant: me.body.tenant }, { kind: 'org-admin', tenant: 'acme' });

  for (const [what, credential] of [
    ['unknown admin token', 'pva_' + 'x'.repeat(43)],
    ['a SCIM token', scim.token],
    ['garbage', 'not-a-token'],
    ['a JWT while no issuer is configured', 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln'],
  ] as const) {
    const res = await adminCaller(app, credential)('GET', '/me');
    t.equal(res.status, 401, `${what} → 401`);
    t.match(res.headers['www-authenticate'], /error="invalid_token"/);
  }

  await revokeAdminToken(database.db, delegated.info.id);
  t.equal((await adminCaller(app, delegated.token)('GET', '/me')).status, 401, 'a revoked token stops working at once');

  const expiring = await issueAdminToken(database.db, { expiresIn: '1m' });
  await database.db.updateTable('admin_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', expiring.info.id).execute();
  t.equal((await adminCaller(app, expiring.token)('GET', '/me')).status, 401, 'an expired token is refused');
});

t.test('Auth0 RS256 access tokens verified against the JWKS, with permission claims', async (t) => {
  const issuer = await localIssuer(AUDIENCE);
  t.teardown(() => issuer.close());
  const { app, database } = await testApp(t, { ADMIN_JWT_ISSUER: issuer.issuer, ADMIN_JWT_AUDIENCE: AUDIENCE });
  const acme = await requireTenant(database.db, 'acme');
  await saveSyncConfig(database.db, acme.id, {
    binding: { organization: { name: 'acme', id: 'org_acme000000000001' }, connections: [{ id: 'con_x', name: 'db', mode: 'database' }] },
    rules: {}, guard: {},
  });
  const call = (token: string) => adminCaller(app, token);

  const opToken = issuer.sign({ permissions: ['provisio:admin'] });
  const asOperator = await call(opToken)('GET', '/tenants');
  t.equal(asOperator.status, 200, 'provisio:admin reaches the operator routes');
  t.same(asOperator.body.tenants.map((x: { name: string }) => x.name), ['acme']);
  t.equal((await call(opToken)('GET', '/me')).body.actor, 'jwt:auth0|admin-1', 'the actor is the token subject');
  t.equal(issuer.jwksFetches(), 1, 'the signing key is cached across requests');

  const orgToken = issuer.sign({ permissions: ['provisio:org-admin'], org_id: 'org_acme000000000001' });
  const mine = await call(orgToken)('GET', '/tenants/acme');
  t.equal(mine.status, 200, 'provisio:org-admin reaches the tenant bound to its org_id');
  t.equal((await call(orgToken)('GET', '/tenants')).status, 403, 'but not the operator routes');
  t.equal((await call(orgToken)('GET', '/tenants/globex/users')).status, 403, 'nor another tenant');
  t.equal((await call(issuer.sign({ permissions: ['provisio:org-admin'], org_name: 'acme' }))('GET', '/tenants/acme')).status, 200, 'org_name works when there is no org_id');
  t.equal((await call(issuer.sign({ gty: 'client-credentials', scope: 'provisio:admin' }))('GET', '/tenants')).status, 200, 'an M2M token\'s scope counts');

  // An org login's token carries the permissions of org roles, which tenants' rules assign: never an operator.
  const orgLogin = issuer.sign({ permissions: ['provisio:admin', 'provisio:org-admin'], org_id: 'org_acme000000000001' });
  t.equal((await call(orgLogin)('GET', '/tenants')).status, 403, 'provisio:admin in an organization token is not an operator');
  t.equal((await call(orgLogin)('GET', '/tenants/acme')).status, 200, 'it is the org admin it also is');

  const denied: [string, string, number, RegExp][] = [
    ['no permission', issuer.sign({ permissions: ['read:stuff'] }), 403, /neither/],
    ['a user\'s self-requested scope', issuer.sign({ scope: 'openid provisio:admin' }), 403, /neither/],
    ['provisio:admin alone through an organization', issuer.sign({ permissions: ['provisio:admin'], org_id: 'org_acme000000000001' }), 403, /refused in a token issued through an organization/],
    ['org-admin without org_id', issuer.sign({ permissions: ['provisio:org-admin'] }), 403, /org_id/],
    ['org-admin of an unbound org', issuer.sign({ permissions: ['provisio:org-admin'], org_id: 'org_nobody' }), 403, /No tenant/],
    ['an org_id contradicting the binding, whatever org_name says', issuer.sign({ permissions: ['provisio:org-admin'], org_id: 'org_other', org_name: 'acme' }), 403, /No tenant/],
    ['wrong audience', issuer.sign({ permissions: ['provisio:admin'] }, { audience: 'https://other.api/' }), 401, /not valid/],
    ['wrong issuer', issuer.sign({ permissions: ['provisio:admin'] }, { issuer: 'https://evil.example/' }), 401, /not valid/],
    ['expired', issuer.sign({ permissions: ['provisio:admin'], exp: Math.floor(Date.now() / 1000) - 60, iat: Math.floor(Date.now() / 1000) - 120 }), 401, /not valid/],
    ['unknown key id', issuer.sign({ permissions: ['provisio:admin'] }, { kid: 'some-other-key' }), 401, /signing key/],
    ['tampered payload', tamper(opToken), 401, /not valid/],
  ];
  for (const [what, token, status, message] of denied) {
    const res = await call(token)('GET', '/me');
    t.equal(res.status, status, `${what} → ${status}`);
    t.match(res.body.message, message, what);
  }

  // Algorithm confusion: an HS256 token signed with the public key's text must not pass as RS256.
  const hs = Fastify();
  await hs.register(fastifyJwt, { secret: 'public-key-used-as-an-hmac-secret-xxxxxxxxxx' });
  await hs.ready();
  const confused = hs.jwt.sign({ permissions: ['provisio:admin'], iss: issuer.issuer, aud: AUDIENCE });
  await hs.close();
  t.equal((await call(confused)('GET', '/me')).status, 401, 'an HS256 token is refused');
});

t.test('a forged token naming the real key id locks nobody out, and unknown key ids cost one JWKS fetch per interval', async (t) => {
  const issuer = await localIssuer(AUDIENCE);
  t.teardown(() => issuer.close());
  const { app } = await testApp(t, { ADMIN_JWT_ISSUER: issuer.issuer, ADMIN_JWT_AUDIENCE: AUDIENCE });
  const good = issuer.sign({ permissions: ['provisio:admin'] });
  const realKid = JSON.parse(Buffer.from(good.split('.')[0]!, 'base64url').toString('utf8')).kid as string;

  // Before the real key was ever fetched: HS256 tokens that name it.
  const hs = Fastify();
  await hs.register(fastifyJwt, { secret: 'an-attacker-chosen-hmac-secret-xxxxxxxxxxxxxx' });
  await hs.ready();
  for (let i = 0; i < 5; i++) {
    const forged = hs.jwt.sign({ permissions: ['provisio:admin'], iss: issuer.issuer, aud: AUDIENCE, n: i }, { kid: realKid } as never);
    const res = await adminCaller(app, forged)('GET', '/me');
    t.equal(res.status, 401, 'the forged token is refused');
  }
  await hs.close();
  t.equal(issuer.jwksFetches(), 0, 'refused on its algorithm, before any key lookup');
  t.equal((await adminCaller(app, good)('GET', '/me')).status, 200, 'the real key still verifies valid tokens');
  t.equal(issuer.jwksFetches(), 1);

  const madeUp = await Promise.all(Array.from({ length: 50 }, (_, i) => adminCaller(app, issuer.sign({ permissions: ['provisio:admin'] }, { kid: `made-up-${i}` }))('GET', '/me')));
  t.ok(madeUp.every((res) => res.status === 401), '50 tokens with made-up key ids are refused');
  t.ok(issuer.jwksFetches() <= 2, `and cost at most one JWKS fetch between them, not one each (${issuer.jwksFetches() - 1})`);
  t.equal((await adminCaller(app, good)('GET', '/me')).status, 200, 'valid tokens keep working');
});

t.test('the admin JWT settings are validated at start', async (t) => {
  const { loadConfig, ConfigError } = await import('../../src/config.js');
  t.throws(() => loadConfig({ ADMIN_JWT_ISSUER: 'https://acme.eu.auth0.com/' }), ConfigError, 'the audience is required');
  t.throws(() => loadConfig({ ADMIN_JWT_ISSUER: 'http://acme.eu.auth0.com/', ADMIN_JWT_AUDIENCE: AUDIENCE }), /https/, 'plain http only for localhost');
  const ok = loadConfig({ ADMIN_JWT_ISSUER: 'https://acme.eu.auth0.com/', ADMIN_JWT_AUDIENCE: AUDIENCE });
  t.equal(ok.adminJwt?.jwksUrl, 'https://acme.eu.auth0.com/.well-known/jwks.json');
});

/** Flips the payload to claim more while keeping the signature. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
  claims.sub = 'auth0|someone-else';
  return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
}
