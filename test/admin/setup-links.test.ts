import t from 'tap';
import { requireTenant } from '../../src/admin/tenants.js';
import { createSignInCode } from '../../src/admin/setup-links.js';
import { adminCaller, operator, orgAdmin } from '../helpers/admin.js';
import { testApp, USER_URN } from '../helpers/app.js';
import { cliEnv, runProvisio } from '../helpers/cli.js';

/** The secret of a setup link URL: what the console reads from the fragment. */
function secretOf(url: string): string {
  const match = /\/console\/setup#(pvl_[A-Za-z0-9_-]+)$/.exec(url);
  if (!match) throw new Error(`not a setup link URL: ${url}`);
  return match[1]!;
}

t.test('a setup link is a delegated session for its tenant only, until it expires or is revoked', async (t) => {
  const { app, database, tenant, client } = await testApp(t);
  await tenant('globex');
  const op = await operator(app, database);

  const created = await op('POST', '/tenants/acme/setup-links', { expiresIn: '2d', label: 'Acme IT' });
  t.equal(created.status, 201);
  t.match(created.body.url, /^http:\/\/localhost(:\d+)?\/console\/setup#pvl_[A-Za-z0-9_-]{43}$/, 'the secret travels in the fragment, which browsers never send');
  t.match(created.body.setupLink, { label: 'Acme IT', tenant: 'acme', status: 'active', revokedAt: null });
  t.ok(Math.abs(Date.parse(created.body.setupLink.expiresAt) - Date.now() - 2 * 86_400_000) < 60_000, 'expires in two days');
  const secret = secretOf(created.body.url);
  t.notOk(JSON.stringify((await op('GET', '/tenants/acme/setup-links')).body).includes(secret), 'listings never show the secret');

  const link = adminCaller(app, secret);
  t.same((await link('GET', '/me')).body, { kind: 'org-admin', tenant: 'acme', actor: `setup-link:${created.body.setupLink.id}` });
  t.equal((await link('GET', '/tenants/acme')).status, 200);
  const token = await link('POST', '/tenants/acme/scim-tokens', { label: 'Okta (setup link)' });
  t.equal(token.status, 201, 'the IT admin generates the SCIM token themselves');
  const pushed = await client('acme', token.body.token).json('POST', '/Users', { schemas: [USER_URN], userName: 'first@acme.test' });
  t.equal(pushed.status, 201, 'and the IdP can use it at once');
  const detail = await link('GET', '/tenants/acme');
  t.same(detail.body.directory, { users: 1, groups: 0 }, 'the tenant page counts what the IdP sent');

  t.equal((await link('GET', '/tenants/globex')).status, 403, 'another tenant is out of reach');
  t.equal((await link('GET', '/tenants/globex/scim-requests')).status, 403);
  t.equal((await link('GET', '/tenants')).status, 403, 'operator routes are out of reach');
  t.equal((await link('POST', '/tenants/acme/setup-links', {})).status, 403, 'a link cannot mint more links');
  t.equal((await link('POST', '/admin-tokens', { tenant: 'acme' })).status, 403);
  t.equal((await (await orgAdmin(app, database, await requireTenant(database.db, 'acme')))('POST', '/tenants/acme/setup-links', {})).status, 403, 'nor can a delegated admin token');

  await database.db.updateTable('admin_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', created.body.setupLink.id).execute();
  const expired = await link('GET', '/me');
  t.equal(expired.status, 401);
  t.match(expired.body.message, /^This setup link expired on \d{4}-.*Ask the person who sent it for a new link\.$/, 'an expired link says so');

  const second = await op('POST', '/tenants/acme/setup-links', {});
  t.ok(Math.abs(Date.parse(second.body.setupLink.expiresAt) - Date.now() - 7 * 86_400_000) < 60_000, 'seven days by default');
  const revoked = await op('DELETE', `/tenants/acme/setup-links/${second.body.setupLink.id}`);
  t.equal(revoked.body.setupLink.status, 'revoked');
  const refused = await adminCaller(app, secretOf(second.body.url))('GET', '/tenants/acme');
  t.equal(refused.status, 401);
  t.match(refused.body.message, /^This setup link was revoked\./, 'a revoked link says so');
  t.equal((await adminCaller(app, 'pvl_' + 'A'.repeat(43))('GET', '/me')).body.message, 'This setup link is not valid. Check that the whole link was copied.');
  t.equal((await op('DELETE', `/tenants/globex/setup-links/${created.body.setupLink.id}`)).status, 404, 'a link is revoked through its own tenant');

  const listed = (await op('GET', '/tenants/acme/setup-links')).body.setupLinks.map((l: { status: string }) => l.status);
  t.same(listed.sort(), ['expired', 'revoked']);
  t.same((await op('GET', '/admin-tokens')).body.tokens.map((tk: { label: string }) => tk.label), ['test operator', 'org-admin'], 'admin token listings hold admin tokens only');
});

t.test('a setup link always expires, within 90 days', async (t) => {
  const { app, database } = await testApp(t);
  const op = await operator(app, database);
  for (const expiresIn of ['never', '91d', '2000-01-01']) {
    const res = await op('POST', '/tenants/acme/setup-links', { expiresIn });
    t.equal(res.status, 400, `expiresIn ${expiresIn} → 400`);
    t.equal(res.body.code, 'invalid_request');
  }
  t.equal((await op('GET', '/tenants/acme/setup-links')).body.setupLinks.length, 0, 'nothing was created');
});

t.test('a console sign-in code works once, for an hour, and gives a 12-hour operator session', async (t) => {
  const { app, database } = await testApp(t);
  const anonymous = adminCaller(app, undefined);
  const code = await createSignInCode(database.db);
  const first = await anonymous('POST', '/console/sign-in', { code });
  t.equal(first.status, 200);
  t.ok(Math.abs(Date.parse(first.body.expiresAt) - Date.now() - 12 * 3_600_000) < 60_000, 'the session lasts 12 hours');
  t.equal((await adminCaller(app, first.body.token)('GET', '/me')).body.kind, 'operator');
  const again = await anonymous('POST', '/console/sign-in', { code });
  t.equal(again.status, 401, 'the code is spent');
  t.match(again.body.message, /already used or has expired/);

  const racing = await createSignInCode(database.db);
  const both = await Promise.all([anonymous('POST', '/console/sign-in', { code: racing }), anonymous('POST', '/console/sign-in', { code: racing })]);
  t.same(both.map((r) => r.status).sort(), [200, 401], 'two tabs racing with one code get one session');

  const old = await createSignInCode(database.db, new Date(Date.now() - 61 * 60_000));
  t.equal((await anonymous('POST', '/console/sign-in', { code: old })).status, 401, 'an hour-old code is refused');
  t.equal((await adminCaller(app, old)('GET', '/me')).status, 401, 'a sign-in code is never a bearer credential');
  t.equal((await anonymous('POST', '/console/sign-in', {})).status, 400);
});

t.test('the CLI creates, lists and revokes setup links and prints a console sign-in link', async (t) => {
  const env = await cliEnv(t);
  t.equal((await runProvisio(env, 'tenant', 'create', 'acme')).code, 0);
  const created = await runProvisio(env, 'setup-link', 'create', 'acme', '--expires', '48h', '--json');
  t.equal(created.code, 0, created.err);
  const link = JSON.parse(created.out) as { id: string; url: string; status: string };
  t.match(link.url, /^http:\/\/127\.0\.0\.1:9999\/console\/setup#pvl_/);
  const listed = await runProvisio(env, 'setup-link', 'list', 'acme');
  t.match(listed.out, new RegExp(`^${link.id}\\tpvl_.{6}…\\tactive\\t`));
  t.notOk(listed.out.includes(secretOf(link.url)), 'the list never prints the secret');
  t.equal((await runProvisio(env, 'setup-link', 'revoke', 'acme', link.id)).code, 0);
  t.match((await runProvisio(env, 'setup-link', 'list', 'acme', '--json')).out, /"status": "revoked"/);
  const wrongTenant = await runProvisio(env, 'tenant', 'create', 'globex').then(() => runProvisio(env, 'setup-link', 'revoke', 'globex', link.id));
  t.equal(wrongTenant.code, 1);
  t.match(wrongTenant.err, /no setup link .* in tenant "globex"/);
  t.equal((await runProvisio(env, 'setup-link', 'create', 'acme', '--expires', 'never')).code, 2, 'a link without expiry is refused (a usage error)');
  t.match((await runProvisio(env, 'console-link')).out, /^http:\/\/127\.0\.0\.1:9999\/console\/#sign-in=pvs_[A-Za-z0-9_-]{43}\n$/);
});
