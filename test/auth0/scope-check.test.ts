import { createServer, type Server, type Socket } from 'node:net';
import t from 'tap';
import { startAuth0Emulator } from '../../src/auth0/emulator/server.js';
import { checkAuth0Scopes, checkedScopes, type ScopeCheckTarget } from '../../src/auth0/scope-check.js';

const emu = await startAuth0Emulator({ plan: 'off' });
t.teardown(() => emu.close());
const target = (client = emu.client): ScopeCheckTarget => ({ domain: emu.domain, ...client, baseUrl: emu.baseUrl });

t.beforeEach(() => {
  emu.emulator.reset();
});

t.test('each scope is answered by Auth0: granted, or missing by name; nothing in the tenant changes', async (t) => {
  const before = emu.emulator.snapshot();
  const all = await checkAuth0Scopes(target());
  t.equal(all.status, 'ok', all.message);
  t.same(all.families.map((f) => f.family), ['users', 'sessions', 'organizations', 'organization_members', 'roles', 'onboarding', 'actions']);
  const after = emu.emulator.snapshot();
  const { tokens: _a, ...beforeRest } = before;
  const { tokens: _b, ...afterRest } = after;
  t.same(afterRest, beforeRest, 'only a token was issued');
  t.ok(emu.emulator.callLog().filter((c) => c.operation !== 'POST /oauth/token').every((c) => c.status < 500 && c.status !== 403), 'every probe got past the scope check');

  // Each scope alone missing is named, in its family, and nothing else is.
  for (const scope of checkedScopes().filter((s) => s !== 'create:organizations')) {
    const client = emu.emulator.createClient({ scopes: checkedScopes().filter((s) => s !== scope) });
    const result = await checkAuth0Scopes(target(client));
    t.equal(result.status, 'missing', scope);
    t.same(result.families.flatMap((f) => f.missing), [scope], `${scope} is named`);
  }
  // The spec lets create:organization_connections stand in for create:organizations on POST /organizations: the
  // check reports what Provisio's own call would get.
  const standIn = emu.emulator.createClient({ scopes: checkedScopes().filter((s) => s !== 'create:organizations') });
  t.equal((await checkAuth0Scopes(target(standIn))).status, 'ok');
  const neither = emu.emulator.createClient({ scopes: checkedScopes().filter((s) => s !== 'create:organizations' && s !== 'create:organization_connections') });
  t.same((await checkAuth0Scopes(target(neither))).families.flatMap((f) => f.missing), ['create:organizations', 'create:organization_connections']);

  const none = emu.emulator.createClient({ scopes: ['read:clients'] });
  const result = await checkAuth0Scopes(target(none));
  t.same(result.families.flatMap((f) => f.missing), checkedScopes(), 'a token without any of them misses all');
  t.match(result.families[0]?.scopes[0], { scope: 'read:users', status: 'missing', operation: 'GET /users-by-email', httpStatus: 403, message: /insufficient_scope/ });
  t.same(checkedScopes(false).includes('read:actions'), false, 'actions: false leaves the Actions scopes out');
});

t.test('a rate-limited probe is tried again after the reset; a failing one is an error, not a missing scope', async (t) => {
  // Slower than the sequential probes can go on any machine (4/s against their ~24 calls), so a 429 comes whatever
  // the load: at 40/s a loaded machine's probes were themselves slow enough that none was refused.
  emu.emulator.setRateLimit('global', { burst: 6, perSecond: 4 });
  t.teardown(() => emu.emulator.setRateLimit('global', undefined));
  const paced = await checkAuth0Scopes(target());
  t.equal(paced.status, 'ok', paced.message);
  t.ok(emu.emulator.callLog().some((c) => c.status === 429), 'Auth0 answered 429 on the way');
  emu.emulator.setRateLimit('global', undefined);

  emu.emulator.injectFault('GET /roles', { errorRate: 1, errorStatus: 503 });
  const failing = await checkAuth0Scopes(target());
  t.equal(failing.status, 'error');
  t.match(failing.message, /could not check read:roles/);
  t.match(failing.families.find((f) => f.family === 'roles'), { status: 'error', missing: [], scopes: [{ scope: 'read:roles', status: 'error', httpStatus: 503 }] });
});

t.test('no token: unauthorized for wrong credentials or no grant; error for a bad domain or a silent Auth0', async (t) => {
  const wrong = await checkAuth0Scopes({ ...target(), clientSecret: 'wrong-secret-value' });
  t.match(wrong, { status: 'unauthorized', families: [], tokenScopes: null });
  t.notMatch(wrong.message, /wrong-secret-value/);
  const noGrant = emu.emulator.createClient({ scopes: [] });
  t.match(await checkAuth0Scopes(target(noGrant)), { status: 'unauthorized', message: /client-grant|not authorized/ });
  t.match(await checkAuth0Scopes({ ...target(), domain: 'https://acme.auth0.com/' }), { status: 'error', message: /bare host name/ });

  const sockets = new Set<Socket>();
  const silent: Server = createServer((socket) => { sockets.add(socket); }).listen(0, '127.0.0.1');
  await new Promise((r) => silent.once('listening', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => silent.close(r));
  });
  const started = Date.now();
  const result = await checkAuth0Scopes({ ...target(), baseUrl: `http://127.0.0.1:${(silent.address() as { port: number }).port}` }, { timeoutMs: 300 });
  t.match(result, { status: 'error', message: /no answer from http:\/\/127\.0\.0\.1:\d+ \(as .*\) within 300 ms/ });
  t.ok(Date.now() - started < 5000, 'the timeout holds');
});

t.test('the scope claim of a JWT token is shown', async (t) => {
  // The emulator's tokens are opaque: the token answer is swapped for a JWT-shaped one, as Auth0 issues, that the
  // emulator also accepts.
  const issued = await checkAuth0Scopes(target());
  t.equal(issued.tokenScopes, null, 'an opaque token has no claim to show');
  const jwt = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ scope: 'read:users read:roles' })).toString('base64url')}.c2ln`;
  const original = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const res = await original(url.replace(`https://${emu.domain}`, emu.baseUrl), init);
    if (!url.endsWith('/oauth/token')) return res;
    const body = (await res.json()) as { access_token: string };
    const stored = emu.emulator.state.tokens.get(body.access_token);
    if (stored) emu.emulator.state.tokens.set(jwt, stored);
    return new Response(JSON.stringify({ ...body, access_token: jwt }), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  t.teardown(() => { globalThis.fetch = original; });
  const shown = await checkAuth0Scopes({ domain: emu.domain, ...emu.client });
  globalThis.fetch = original;
  t.same(shown.tokenScopes, ['read:users', 'read:roles']);
  t.equal(shown.status, 'ok', 'the answer still comes from the calls, not from the claim');
});
