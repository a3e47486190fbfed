import t from 'tap';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import { pino } from 'pino';
import { cliEnv, runProvisio } from '../helpers/cli.js';

t.test('tenant create --json prints the tenant, its SCIM base URL and a working token', async (t) => {
  const env = await cliEnv(t);
  const res = await runProvisio(env, 'tenant', 'create', 'acme', '--display-name', 'Acme Corp', '--json');
  t.equal(res.code, 0, res.err);
  const created = JSON.parse(res.out);
  t.same(Object.keys(created).sort(), ['scimBaseUrl', 'tenant', 'token']);
  t.equal(created.scimBaseUrl, 'http://127.0.0.1:9999/scim/v2/acme');
  t.match(created.tenant, { name: 'acme', displayName: 'Acme Corp' });
  t.match(created.token, /^prv_[A-Za-z0-9_-]{43}$/);

  // The token works against a server on the same database.
  const config = loadConfig(env);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const app = await buildApp({ config, database, logger: pino({ level: 'silent' }) });
  const ok = await app.inject({ url: '/scim/v2/acme/Users', headers: { authorization: `Bearer ${created.token}` } });
  t.equal(ok.statusCode, 200);
  await app.close();
  await database.close();

  const dup = await runProvisio(env, 'tenant', 'create', 'acme');
  t.equal(dup.code, 2);
  t.match(dup.err, /already exists/);
  const bad = await runProvisio(env, 'tenant', 'create', 'Not A Slug');
  t.equal(bad.code, 2);
  t.match(bad.err, /lower-case letters/);
});

t.test('tenant list/show/update/delete', async (t) => {
  const env = await cliEnv(t);
  await runProvisio(env, 'tenant', 'create', 'one');
  await runProvisio(env, 'tenant', 'create', 'two');
  const list = await runProvisio(env, 'tenant', 'list', '--json');
  t.same(JSON.parse(list.out).map((x: { name: string }) => x.name), ['one', 'two']);
  const upd = await runProvisio(env, 'tenant', 'update', 'two', '--display-name', 'Second', '--json');
  t.equal(JSON.parse(upd.out).displayName, 'Second');
  const show = await runProvisio(env, 'tenant', 'show', 'two', '--json');
  t.match(JSON.parse(show.out), { name: 'two', displayName: 'Second', scimBaseUrl: 'http://127.0.0.1:9999/scim/v2/two' });
  const refused = await runProvisio(env, 'tenant', 'delete', 'two');
  t.equal(refused.code, 2, 'delete needs --yes');
  t.equal((await runProvisio(env, 'tenant', 'delete', 'two', '--yes')).code, 0);
  const missing = await runProvisio(env, 'tenant', 'show', 'two');
  t.equal(missing.code, 2);
  t.match(missing.err, /no tenant named "two"/);
});

t.test('token issue/list/revoke: secrets shown once, listed without secrets, scopes and expiry validated', async (t) => {
  const env = await cliEnv(t);
  await runProvisio(env, 'tenant', 'create', 'acme');
  const issued = await runProvisio(env, 'token', 'issue', 'acme', '--label', 'entra', '--scopes', 'users:read,groups:read', '--expires-in', '90d', '--json');
  t.equal(issued.code, 0, issued.err);
  const token = JSON.parse(issued.out);
  t.same(token.scopes, ['users:read', 'groups:read']);
  t.ok(Date.parse(token.expiresAt) > Date.now() + 89 * 86_400_000);
  const list = await runProvisio(env, 'token', 'list', 'acme', '--json');
  const tokens = JSON.parse(list.out);
  t.equal(tokens.length, 2, 'the initial token and the new one are both active');
  t.same(tokens.map((x: { status: string }) => x.status), ['active', 'active']);
  t.notMatch(list.out, token.token, 'the secret is never listed');
  t.notMatch(list.out, /hash/i);
  const revoke = await runProvisio(env, 'token', 'revoke', 'acme', token.id, '--json');
  t.equal(JSON.parse(revoke.out).status, 'revoked');
  t.equal((await runProvisio(env, 'token', 'revoke', 'acme', '00000000-0000-7000-8000-000000000000')).code, 1);
  const badScope = await runProvisio(env, 'token', 'issue', 'acme', '--scopes', 'admin');
  t.equal(badScope.code, 2);
  t.match(badScope.err, /unknown scope "admin"/);
  const badExpiry = await runProvisio(env, 'token', 'issue', 'acme', '--expires-in', 'soon');
  t.equal(badExpiry.code, 2);
});

t.test('bad arguments, bad configuration and an unreachable database give clear errors and non-zero exits', async (t) => {
  const unknown = await runProvisio({}, 'tenant', 'frobnicate');
  t.equal(unknown.code, 2);
  t.match(unknown.err, /unknown command|error/i);
  const badPort = await runProvisio({ PORT: 'eighty' }, 'tenant', 'list');
  t.equal(badPort.code, 2);
  t.match(badPort.err, /PORT must be an integer/);
  const noDb = await runProvisio({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }, 'tenant', 'list');
  t.equal(noDb.code, 1);
  t.match(noDb.err, /cannot reach the database/);
});

