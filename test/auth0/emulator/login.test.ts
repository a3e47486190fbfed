/**
 * A user's login as a single-page application does it against Auth0: `/authorize` with PKCE, the login
 * form, the code exchanged for RS256 tokens that verify against the tenant's JWKS, with RBAC permissions
 * and the organization of the login. The Management API side (APIs, role permissions) goes through the SDK.
 */
import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { createVerifier } from 'fast-jwt';
import t from 'tap';
import { checkResponses, startHarness } from './harness.js';

const h = await startHarness();
t.teardown(() => h.close());

const APP = 'http://console.example.test';
const CALLBACK = `${APP}/console/`;
const API = 'https://provisio.example.test/admin';
const issuer = `${h.emu.baseUrl}/`;

const spa = h.emu.emulator.createClient({ appType: 'spa', name: 'Provisio console', callbacks: [CALLBACK], connections: ['Username-Password-Authentication'] });
await h.mgmt.resourceServers.create({
  identifier: API, name: 'Provisio admin API', token_dialect: 'access_token_authz', enforce_policies: true,
  scopes: [{ value: 'provisio:admin', description: 'Operate every tenant' }, { value: 'provisio:org-admin', description: 'Administer one tenant' }],
});
const operatorRole = await h.mgmt.roles.create({ name: 'Provisio operator' });
await h.mgmt.roles.permissions.add(operatorRole.id!, { permissions: [{ resource_server_identifier: API, permission_name: 'provisio:admin' }] });
const password = `Pw-${randomBytes(9).toString('base64url')}1a`;
const operator = await h.mgmt.users.create({ connection: 'Username-Password-Authentication', email: 'ops@example.test', password });
await h.mgmt.users.roles.assign(operator.user_id!, { roles: [operatorRole.id!] });

const raw = (path: string, init: RequestInit = {}) => fetch(new URL(path, h.emu.baseUrl), { redirect: 'manual', ...init });

interface Login { params: URLSearchParams; verifier: string }

/** Starts a login; returns the login form's transaction (or the redirect, when there is no form). */
async function authorize(extra: Record<string, string> = {}): Promise<{ response: Response; verifier: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const query = new URLSearchParams({
    client_id: spa.clientId, redirect_uri: CALLBACK, response_type: 'code', scope: 'openid profile email', audience: API,
    state: 'st-1', nonce: 'n-1', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256', ...extra,
  });
  return { response: await raw(`/authorize?${query}`), verifier };
}

async function logIn(email: string, pass: string, extra: Record<string, string> = {}): Promise<Login> {
  const { response, verifier } = await authorize(extra);
  const form = new URL(response.headers.get('location') ?? '', h.emu.baseUrl);
  const submitted = await raw(form.pathname + form.search, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ state: form.searchParams.get('state') ?? '', username: email, password: pass }).toString(),
  });
  const location = submitted.headers.get('location');
  if (submitted.status !== 302 || !location) throw new Error(`login answered ${submitted.status}: ${await submitted.text()}`);
  return { params: new URL(location).searchParams, verifier };
}

async function exchange(code: string, verifier: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await raw('/oauth/token', {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: APP },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: spa.clientId, code, code_verifier: verifier, redirect_uri: CALLBACK }).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function verify(token: string): Promise<Record<string, unknown>> {
  const jwks = (await (await raw('/.well-known/jwks.json')).json()) as { keys: Record<string, unknown>[] };
  const key = createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' }).export({ format: 'pem', type: 'spki' }).toString();
  return createVerifier({ key, algorithms: ['RS256'] })(token) as Record<string, unknown>;
}

t.test('a user logs in with PKCE and gets an access token for the API with its permissions', async (t) => {
  const { response } = await authorize();
  t.equal(response.status, 302);
  const form = await raw(response.headers.get('location') ?? '');
  t.equal(form.status, 200);
  const html = await form.text();
  t.match(html, /<label for="username">Email address<\/label>/, 'the login form has labelled fields');
  t.match(html, /Provisio console/, 'and names the application');

  const wrong = await raw(new URL(response.headers.get('location') ?? '', h.emu.baseUrl).href, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ state: new URL(response.headers.get('location') ?? '', h.emu.baseUrl).searchParams.get('state') ?? '', username: 'ops@example.test', password: 'not-it' }).toString(),
  });
  t.equal(wrong.status, 400);
  t.match(await wrong.text(), /Wrong email or password/);

  const login = await logIn('OPS@example.test', password);
  t.equal(login.params.get('state'), 'st-1', 'the state comes back unchanged');
  const tokens = await exchange(login.params.get('code') ?? '', login.verifier);
  t.equal(tokens.status, 200);
  t.match(tokens.body, { token_type: 'Bearer', expires_in: 86_400, scope: 'openid profile email' });
  const access = await verify(String(tokens.body['access_token']));
  t.match(access, { iss: issuer, sub: operator.user_id, aud: [API, `${issuer}userinfo`], azp: spa.clientId, permissions: ['provisio:admin'] });
  const id = await verify(String(tokens.body['id_token']));
  t.match(id, { iss: issuer, aud: spa.clientId, nonce: 'n-1', email: 'ops@example.test', sub: operator.user_id });

  const again = await exchange(login.params.get('code') ?? '', login.verifier);
  t.equal(again.status, 403, 'a code is good for one exchange');
  t.match(again.body, { error: 'invalid_grant' });
});

t.test('the code is bound to the verifier of the browser that asked for it', async (t) => {
  const login = await logIn('ops@example.test', password);
  const stolen = await exchange(login.params.get('code') ?? '', randomBytes(32).toString('base64url'));
  t.equal(stolen.status, 403);
  t.match(stolen.body, { error: 'invalid_grant', error_description: 'Failed to verify code verifier' });
});

t.test('refusals before the form: unknown callback, unknown API, no PKCE, prompt=none', async (t) => {
  const mismatch = await authorize({ redirect_uri: 'https://attacker.example.test/cb' });
  t.equal(mismatch.response.status, 400, 'an unlisted callback gets an error page, never a redirect');
  t.equal(mismatch.response.headers.get('location'), null);
  t.match(await mismatch.response.text(), /Callback URL mismatch/);

  const unknownApi = await authorize({ audience: 'https://nowhere.example.test' });
  const back = new URL(unknownApi.response.headers.get('location') ?? '');
  t.equal(back.origin + back.pathname, CALLBACK);
  t.equal(back.searchParams.get('error'), 'access_denied');
  t.equal(back.searchParams.get('error_description'), 'Service not found: https://nowhere.example.test');

  const noPkce = await authorize({ code_challenge: '' });
  t.equal(new URL(noPkce.response.headers.get('location') ?? '').searchParams.get('error'), 'invalid_request');

  const silent = await authorize({ prompt: 'none' });
  t.equal(new URL(silent.response.headers.get('location') ?? '').searchParams.get('error'), 'login_required');
});

t.test('a login through an organization carries org_id and the permissions of the org roles only', async (t) => {
  const org = await h.mgmt.organizations.create({ name: 'acme', display_name: 'Acme' });
  const admin = await h.mgmt.roles.create({ name: 'Acme IT admin' });
  await h.mgmt.roles.permissions.add(admin.id!, { permissions: [{ resource_server_identifier: API, permission_name: 'provisio:org-admin' }] });
  const itPassword = `Pw-${randomBytes(9).toString('base64url')}1a`;
  const it = await h.mgmt.users.create({ connection: 'Username-Password-Authentication', email: 'it@acme.example.test', password: itPassword });

  const outsider = await logIn('it@acme.example.test', itPassword, { organization: 'acme' });
  t.equal(outsider.params.get('error'), 'access_denied', 'not a member yet: refused');

  // A tenant role's permission is not part of an organization login.
  await h.mgmt.users.roles.assign(it.user_id!, { roles: [operatorRole.id!] });
  await h.mgmt.organizations.members.create(org.id!, { members: [it.user_id!] });
  await h.mgmt.organizations.members.roles.assign(org.id!, it.user_id!, { roles: [admin.id!] });
  const member = await logIn('it@acme.example.test', itPassword, { organization: 'acme' });
  const tokens = await exchange(member.params.get('code') ?? '', member.verifier);
  t.match(await verify(String(tokens.body['access_token'])), { org_id: org.id, org_name: 'acme', permissions: ['provisio:org-admin'] });
  t.match(await verify(String(tokens.body['id_token'])), { org_id: org.id });
});

t.test('the browser may call the token endpoint from an allowed origin only', async (t) => {
  const preflight = (origin: string) => raw('/oauth/token', { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
  t.equal((await preflight(APP)).headers.get('access-control-allow-origin'), APP);
  t.equal((await preflight('https://attacker.example.test')).headers.get('access-control-allow-origin'), null);
});

t.test('blocked users cannot log in; passwords never leave the emulator', async (t) => {
  const userPassword = `Pw-${randomBytes(9).toString('base64url')}1a`;
  const user = await h.mgmt.users.create({ connection: 'Username-Password-Authentication', email: 'blocked@example.test', password: userPassword });
  await h.mgmt.users.update(user.user_id!, { blocked: true });
  await t.rejects(logIn('blocked@example.test', userPassword), /blocked/);
  const fetched = await h.mgmt.users.get(user.user_id!);
  t.notOk('password_hash' in (fetched as object), 'GET /users/{id} has no password field');
  const formPosts = h.emu.emulator.calls.list({ operation: 'POST /u/login' });
  t.ok(formPosts.length > 0);
  t.notOk(formPosts.some((c) => JSON.stringify(c.body ?? {}).includes(userPassword)), 'the call log keeps no login password');
});

t.test('APIs and role permissions answer in the shapes of the spec', async (t) => {
  const listed = await h.mgmt.resourceServers.list({ identifiers: [API] } as never);
  t.same([...listed.data].map((r) => r.identifier), [API]);
  const permissions = await h.mgmt.roles.permissions.list(operatorRole.id!);
  t.match([...permissions.data], [{ resource_server_identifier: API, permission_name: 'provisio:admin', resource_server_name: 'Provisio admin API', description: 'Operate every tenant' }]);
  await t.rejects(h.mgmt.resourceServers.create({ identifier: API }), { statusCode: 409 } as never);
  await t.rejects(h.mgmt.roles.permissions.add(operatorRole.id!, { permissions: [{ resource_server_identifier: API, permission_name: 'provisio:nothing' }] }), { statusCode: 400 } as never);
  t.ok(checkResponses(t, h) > 0);
});
