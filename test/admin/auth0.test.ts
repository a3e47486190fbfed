import { Writable } from 'node:stream';
import t from 'tap';
import { pino } from 'pino';
import { createTenant } from '../../src/admin/tenants.js';
import { buildApp } from '../../src/app.js';
import { POST_LOGIN_ACTION_NAME } from '../../src/auth0/action-deploy.js';
import { startAuth0Emulator } from '../../src/auth0/emulator/server.js';
import { checkedScopes } from '../../src/auth0/scope-check.js';
import { loadConfig } from '../../src/config.js';
import { operator, orgAdmin } from '../helpers/admin.js';
import { testApp } from '../helpers/app.js';
import { testDatabase } from '../helpers/db.js';

const SECRET = 'the-action-secret-shared-with-auth0-0123456789';

const emu = await startAuth0Emulator({ plan: 'off' });
t.teardown(() => emu.close());
const auth0Env = { AUTH0_BASE_URL: emu.baseUrl, AUTH0_CLIENT_ID: emu.client.clientId, AUTH0_CLIENT_SECRET: emu.client.clientSecret };
const env = { ...auth0Env, PROVISIO_ACTION_SECRET: SECRET, PUBLIC_URL: 'https://provisio.example.com' };

t.beforeEach(() => {
  emu.emulator.reset();
});

t.test('check: the configured application, another one given in the body, wrong credentials; operator only', async (t) => {
  // A logger at trace level whose every line is kept: the secret sent in the body must appear in none.
  let logged = '';
  const sink = new Writable({ write(chunk, _enc, done) { logged += String(chunk); done(); } });
  const database = await testDatabase(t);
  const app = await buildApp({ config: loadConfig({ ...env, SCIM_TOKEN_CACHE_MS: '0' }), database, logger: pino({ level: 'trace' }, sink) });
  t.teardown(() => app.close());
  const op = await operator(app, database);

  const ok = await op('POST', '/auth0/check');
  t.equal(ok.status, 200, JSON.stringify(ok.body));
  t.match(ok.body, { status: 'ok', domain: emu.domain, clientId: emu.client.clientId, tokenScopes: null });
  t.same(ok.body.families.flatMap((f: { scopes: { scope: string }[] }) => f.scopes.map((s) => s.scope)), checkedScopes());
  t.ok(ok.body.families.every((f: { scopes: { status: string; operation: string }[] }) => f.scopes.every((s) => s.status === 'granted' && s.operation)));

  const limited = emu.emulator.createClient({ scopes: checkedScopes().filter((s) => s !== 'read:organizations' && s !== 'update:actions') });
  const missing = await op('POST', '/auth0/check', { clientId: limited.clientId, clientSecret: limited.clientSecret });
  t.equal(missing.status, 200);
  t.match(missing.body, { status: 'missing', message: 'missing scopes: read:organizations, update:actions', clientId: limited.clientId });
  t.match(missing.body.families.find((f: { family: string }) => f.family === 'organizations'), { status: 'missing', missing: ['read:organizations'] });
  t.match(missing.body.families.find((f: { family: string }) => f.family === 'actions'), {
    status: 'missing', missing: ['update:actions'],
    scopes: [{ scope: 'read:actions', status: 'granted' }, { scope: 'create:actions', status: 'granted' }, { scope: 'update:actions', status: 'missing', httpStatus: 403 }],
  });
  const noActions = await op('POST', '/auth0/check', { clientId: limited.clientId, clientSecret: limited.clientSecret, actions: false });
  t.notOk(noActions.body.families.some((f: { family: string }) => f.family === 'actions'), 'actions: false leaves the Actions scopes out');

  const wrong = await op('POST', '/auth0/check', { clientSecret: 'definitely-not-the-secret' });
  t.equal(wrong.status, 200);
  t.match(wrong.body, { status: 'unauthorized', families: [] });

  t.notOk(JSON.stringify([ok.body, missing.body, wrong.body]).includes(limited.clientSecret), 'never echoed');
  t.notOk(logged.includes(limited.clientSecret) || logged.includes('definitely-not-the-secret') || logged.includes(emu.client.clientSecret), 'never logged');
  t.ok(logged.length > 0, 'the log was captured');

  t.equal((await op('POST', '/auth0/check', { domain: 'x', extra: true })).status, 400, 'unknown fields are refused');
  const { tenant } = await createTenant(database.db, { name: 'acme' });
  const delegated = await orgAdmin(app, database, tenant);
  t.equal((await delegated('POST', '/auth0/check')).status, 403, 'an org admin may not');
  t.equal((await delegated('POST', '/auth0/action/deploy')).status, 403);
});

t.test('deploy: created, then unchanged; new settings update it; one Action, one binding', async (t) => {
  const { app, database } = await testApp(t, env);
  const op = await operator(app, database);

  const first = await op('POST', '/auth0/action/deploy');
  t.equal(first.status, 200, JSON.stringify(first.body));
  t.match(first.body, { actionName: POST_LOGIN_ACTION_NAME, action: 'created', deployed: true, versionNumber: 1, bound: 'added', provisioUrl: 'https://provisio.example.com', bindings: [] });
  const again = await op('POST', '/auth0/action/deploy', {});
  t.match(again.body, { action: 'unchanged', deployed: false, bound: 'already', versionId: first.body.versionId });
  const open = await op('POST', '/auth0/action/deploy', { failMode: 'open', timeoutMs: 2500, publicUrl: 'https://login.example.com' });
  t.match(open.body, { action: 'updated', deployed: true, versionNumber: 2, bound: 'already', provisioUrl: 'https://login.example.com' });

  const state = emu.emulator.snapshot();
  t.equal((state.actions ?? []).length, 1);
  t.equal((state.trigger_bindings ?? []).length, 1);
  t.same(state.actions?.[0]?.secrets.map((s) => [s.name, s.value]), [['PROVISIO_URL', 'https://login.example.com'], ['PROVISIO_SECRET', SECRET], ['FAIL_MODE', 'open'], ['TIMEOUT_MS', '2500']]);
  t.notOk(JSON.stringify([first.body, again.body, open.body]).includes(SECRET), 'the action secret is never returned');

  const http = await op('POST', '/auth0/action/deploy', { publicUrl: 'http://provisio.example.com' });
  t.equal(http.status, 400);
  t.match(http.body, { code: 'invalid_request', message: /https/ });
  t.equal((await op('POST', '/auth0/action/deploy', { failMode: 'sometimes' })).status, 400);
  t.equal((await op('POST', '/auth0/action/deploy', { timeoutMs: 60_000 })).status, 400);
});

t.test('deploy with a client lacking create:actions: a 502 naming the scope', async (t) => {
  const limited = emu.emulator.createClient({ scopes: ['read:actions', 'update:actions'] });
  const { app, database } = await testApp(t, { ...env, AUTH0_CLIENT_ID: limited.clientId, AUTH0_CLIENT_SECRET: limited.clientSecret });
  const op = await operator(app, database);
  const res = await op('POST', '/auth0/action/deploy');
  t.equal(res.status, 502);
  t.match(res.body, { code: 'auth0_missing_scope', message: /create:actions \(needed for POST \/actions\/actions\)/ });
});

t.test('503 without an Auth0 tenant or without PROVISIO_ACTION_SECRET', async (t) => {
  const none = await testApp(t, {});
  const op = await operator(none.app, none.database);
  const check = await op('POST', '/auth0/check');
  t.equal(check.status, 503);
  t.match(check.body.message, /No Auth0 tenant is configured.*AUTH0_DOMAIN/);
  const deploy = await op('POST', '/auth0/action/deploy');
  t.equal(deploy.status, 503);
  t.match(deploy.body.message, /No Auth0 tenant is configured/);

  const noSecret = await testApp(t, auth0Env);
  const op2 = await operator(noSecret.app, noSecret.database);
  const res = await op2('POST', '/auth0/action/deploy', { publicUrl: 'https://provisio.example.com' });
  t.equal(res.status, 503);
  t.match(res.body.message, /PROVISIO_ACTION_SECRET is not set/);
  t.equal((await op2('POST', '/auth0/check')).status, 200, 'the check needs no action secret');
});
