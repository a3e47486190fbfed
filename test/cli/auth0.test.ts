import t from 'tap';
import { POST_LOGIN_ACTION_NAME } from '../../src/auth0/action-deploy.js';
import { startAuth0Emulator } from '../../src/auth0/emulator/server.js';
import { checkedScopes } from '../../src/auth0/scope-check.js';
import { runProvisio as cli } from '../helpers/cli.js';

const SECRET = 'an-action-secret-of-more-than-32-characters';

const emu = await startAuth0Emulator({ plan: 'off' });
t.teardown(() => emu.close());
const auth0 = { AUTH0_BASE_URL: emu.baseUrl, AUTH0_CLIENT_ID: emu.client.clientId, AUTH0_CLIENT_SECRET: emu.client.clientSecret };
const env = { LOG_LEVEL: 'silent', ...auth0, PROVISIO_ACTION_SECRET: SECRET, PUBLIC_URL: 'https://provisio.example.com' };

t.beforeEach(() => {
  emu.emulator.reset();
});

t.test('action deploy twice: one Action, one binding, the second run changes nothing; other Actions keep their place', async (t) => {
  // Someone else's Action already runs at post-login.
  const other = await fetchJson('POST', '/api/v2/actions/actions', { name: 'geo-block', supported_triggers: [{ id: 'post-login', version: 'v3' }], code: 'exports.onExecutePostLogin = async () => {};', deploy: true });
  await fetchJson('PATCH', '/api/v2/actions/triggers/post-login/bindings', { bindings: [{ ref: { type: 'action_id', value: other.id }, display_name: 'Geo block' }] });

  const first = await cli(env, 'action', 'deploy', '--json');
  t.equal(first.code, 0, first.err);
  const r1 = JSON.parse(first.out);
  t.match(r1, { actionName: POST_LOGIN_ACTION_NAME, action: 'created', deployed: true, versionNumber: 1, bound: 'added', bindings: ['geo-block'] });

  const writes = () => emu.emulator.callLog().filter((c) => c.method !== 'GET' && c.operation !== 'POST /oauth/token').length;
  const before = writes();
  const second = await cli(env, 'action', 'deploy');
  t.equal(second.code, 0, second.err);
  t.match(second.out, /unchanged; version 1 already deployed, nothing to deploy/);
  t.match(second.out, /already bound; other Actions in the flow: geo-block/);

  const state = emu.emulator.snapshot();
  const ours = (state.actions ?? []).filter((a) => a.name === POST_LOGIN_ACTION_NAME);
  t.equal(ours.length, 1, 'one Action');
  const action = ours[0]!;
  t.equal(action.versions.length, 1, 'deployed once');
  t.equal(action.runtime, 'node22');
  t.match(action.code, /exports\.onExecutePostLogin/);
  t.match(action.code, /Settings fingerprint: [A-Za-z0-9_-]{43}\n$/);
  t.notMatch(action.code, new RegExp(SECRET), 'the secret is not in the code');
  t.same(action.secrets.map((s) => [s.name, s.value]), [['PROVISIO_URL', 'https://provisio.example.com'], ['PROVISIO_SECRET', SECRET], ['FAIL_MODE', 'closed'], ['TIMEOUT_MS', '5000']]);
  t.same((state.trigger_bindings ?? []).map((b) => [b.action_id, b.display_name]), [[other.id, 'Geo block'], [action.id, POST_LOGIN_ACTION_NAME]], 'one binding each, ours appended');
  t.equal(writes(), before, 'the second run wrote nothing');

  const changed = await cli(env, 'action', 'deploy', '--fail-mode', 'open', '--timeout-ms', '3000', '--url', 'https://login.example.com/', '--json');
  t.equal(changed.code, 0, changed.err);
  t.match(JSON.parse(changed.out), { action: 'updated', deployed: true, versionNumber: 2, bound: 'already' });
  t.same(emu.emulator.state.action(action.id).secrets.map((s) => s.value), ['https://login.example.com', SECRET, 'open', '3000']);
  t.equal(emu.emulator.state.bindingsOf('post-login').length, 2);

  const rotated = await cli({ ...env, PROVISIO_ACTION_SECRET: `${SECRET}-rotated` }, 'action', 'deploy', '--fail-mode', 'open', '--timeout-ms', '3000', '--url', 'https://login.example.com', '--json');
  t.match(JSON.parse(rotated.out), { action: 'updated', versionNumber: 3 }, 'a rotated secret is deployed although Auth0 never shows secret values');

  // Our Action unbound by hand: the next run binds it again (and deploys nothing).
  await fetchJson('PATCH', '/api/v2/actions/triggers/post-login/bindings', { bindings: [{ ref: { type: 'action_id', value: other.id } }] });
  const rebound = await cli({ ...env, PROVISIO_ACTION_SECRET: `${SECRET}-rotated` }, 'action', 'deploy', '--fail-mode', 'open', '--timeout-ms', '3000', '--url', 'https://login.example.com', '--json');
  t.match(JSON.parse(rebound.out), { action: 'unchanged', deployed: false, bound: 'added' });
});

t.test('action deploy waits for Auth0 to build the draft', async (t) => {
  emu.emulator.settings.actionBuildMs = 1500;
  t.teardown(() => { emu.emulator.settings.actionBuildMs = 0; });
  const run = await cli(env, 'action', 'deploy', '--json');
  t.equal(run.code, 0, run.err);
  t.match(JSON.parse(run.out), { action: 'created', deployed: true });
  t.ok(emu.emulator.callLog({ operation: 'POST /actions/actions/{id}/deploy' }).some((c) => c.status === 400), 'the first deploy was refused while building');
});

t.test('action deploy: configuration and input errors exit 2 and name the fix', async (t) => {
  const noSecret = await cli({ ...env, PROVISIO_ACTION_SECRET: '' }, 'action', 'deploy');
  t.equal(noSecret.code, 2);
  t.match(noSecret.err, /PROVISIO_ACTION_SECRET/);
  const noUrl = await cli({ ...env, PUBLIC_URL: '' }, 'action', 'deploy');
  t.equal(noUrl.code, 2);
  t.match(noUrl.err, /--url|PUBLIC_URL/);
  const plainHttp = await cli(env, 'action', 'deploy', '--url', 'http://provisio.example.com');
  t.equal(plainHttp.code, 2);
  t.match(plainHttp.err, /https/);
  t.equal((await cli(env, 'action', 'deploy', '--url', 'http://localhost:8080')).code, 0, 'plain http for localhost');
  const noAuth0 = await cli({ LOG_LEVEL: 'silent', PROVISIO_ACTION_SECRET: SECRET, PUBLIC_URL: 'https://p.example.com' }, 'action', 'deploy');
  t.equal(noAuth0.code, 2);
  t.match(noAuth0.err, /AUTH0_DOMAIN/);
  const badMode = await cli(env, 'action', 'deploy', '--fail-mode', 'sometimes');
  t.equal(badMode.code, 2);
  const noFile = await cli(env, 'action', 'deploy', '--code', '/nonexistent/post-login.js');
  t.equal(noFile.code, 2);
  t.match(noFile.err, /cannot read the Action's code at \/nonexistent\/post-login\.js/);
});

t.test('action deploy with a client lacking update:actions names the scope', async (t) => {
  const limited = emu.emulator.createClient({ scopes: ['read:actions', 'create:actions'] });
  const run = await cli({ ...env, AUTH0_CLIENT_ID: limited.clientId, AUTH0_CLIENT_SECRET: limited.clientSecret }, 'action', 'deploy');
  t.equal(run.code, 1);
  t.match(run.err, /lacks the Management API scope update:actions \(needed for PATCH \/actions\/triggers\/\{triggerId\}\/bindings\)/);
  t.notMatch(run.err, new RegExp(limited.clientSecret.slice(0, 12)));
});

t.test('auth0 check: every scope granted; a client missing update:actions and read:organizations is told so', async (t) => {
  const ok = await cli(env, 'auth0', 'check', '--json');
  t.equal(ok.code, 0, ok.err);
  const result = JSON.parse(ok.out);
  t.match(result, { status: 'ok', domain: emu.domain, clientId: emu.client.clientId, tokenScopes: null });
  t.same(result.families.flatMap((f: { scopes: { scope: string }[] }) => f.scopes.map((s) => s.scope)), checkedScopes());
  t.notMatch(ok.out, new RegExp(emu.client.clientSecret.slice(0, 12)), 'the secret is not echoed');
  t.equal(emu.emulator.state.users.size + emu.emulator.state.organizations.size + emu.emulator.state.actions.size + emu.emulator.state.tickets.size, 0, 'the check changed nothing');

  const scopes = checkedScopes().filter((s) => s !== 'update:actions' && s !== 'read:organizations');
  const limited = emu.emulator.createClient({ scopes });
  const missing = await cli({ ...env, AUTH0_CLIENT_ID: limited.clientId, AUTH0_CLIENT_SECRET: limited.clientSecret }, 'auth0', 'check');
  t.equal(missing.code, 1);
  t.match(missing.out, /missing — missing scopes: read:organizations, update:actions/);
  t.match(missing.out, /MISSING Organizations and their connections: read:organizations/);
  t.match(missing.out, /MISSING Actions: update:actions/);
  t.match(missing.out, /ok      Users: read:users create:users update:users delete:users/);

  const flags = await cli({ LOG_LEVEL: 'silent', AUTH0_BASE_URL: emu.baseUrl, AUTH0_CLIENT_ID: emu.client.clientId, AUTH0_CLIENT_SECRET: emu.client.clientSecret },
    'auth0', 'check', '--client-id', limited.clientId, '--client-secret', limited.clientSecret, '--skip-actions', '--json');
  t.equal(flags.code, 1);
  t.same(JSON.parse(flags.out).families.flatMap((f: { missing: string[] }) => f.missing), ['read:organizations'], 'flags override the configured client; --skip-actions leaves the Actions scopes out');
});

t.test('auth0 check: wrong credentials are unauthorized; an unreachable Auth0 is an error with a timeout', async (t) => {
  const wrong = await cli({ ...env, AUTH0_CLIENT_SECRET: 'not-the-secret' }, 'auth0', 'check', '--json');
  t.equal(wrong.code, 1);
  t.match(JSON.parse(wrong.out), { status: 'unauthorized', message: /refused a token/, families: [] });
  t.notMatch(wrong.out + wrong.err, /not-the-secret/);

  const closed = await cli({ ...env, AUTH0_BASE_URL: 'http://127.0.0.1:1' }, 'auth0', 'check', '--json');
  t.equal(closed.code, 1);
  t.match(JSON.parse(closed.out), { status: 'error', message: /cannot get a token from http:\/\/127\.0\.0\.1:1/ });

  const nothing = await cli({ LOG_LEVEL: 'silent' }, 'auth0', 'check');
  t.equal(nothing.code, 2);
  t.match(nothing.err, /--domain, --client-id and --client-secret/);
});

async function fetchJson(method: string, path: string, body: unknown): Promise<{ id: string }> {
  const tokenRes = await emu.fetch(`https://${emu.domain}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: emu.client.clientId, client_secret: emu.client.clientSecret, audience: `https://${emu.domain}/api/v2/` }).toString(),
  });
  const { access_token: token } = (await tokenRes.json()) as { access_token: string };
  const res = await emu.fetch(`https://${emu.domain}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}
