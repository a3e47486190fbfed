import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';
import { DEFAULT_LOGIN_POLICY, parseBinding, parseLoginPolicy, SyncConfigError } from '../../src/sync/config.js';
import { ReplayCache, actionTokenClaims } from '../../src/login/action-token.js';
import { LoginFactsError, parseLoginFacts } from '../../src/login/facts.js';

t.test('binding.login: defaults, domains, namespace, and errors naming the field', async (t) => {
  const binding = parseBinding({ organization: { name: 'acme' }, connections: [{ id: 'con_1', name: 'db' }] });
  t.same(binding.login, DEFAULT_LOGIN_POLICY, 'deny by default');
  t.same(parseLoginPolicy({ jit: 'jit-if-domain', emailDomains: ['Acme.COM'], claimsNamespace: 'https://acme.com' }),
    { jit: 'jit-if-domain', emailDomains: ['acme.com'], claimsNamespace: 'https://acme.com/' });
  t.throws(() => parseLoginPolicy({ jit: 'maybe' }), new SyncConfigError('binding.login.jit must be one of deny, jit, jit-if-domain'));
  t.throws(() => parseLoginPolicy({ jit: 'jit-if-domain' }), /emailDomains must list at least one domain/);
  t.throws(() => parseLoginPolicy({ emailDomains: ['not a domain'] }), /"not a domain" is not a domain name/);
  t.throws(() => parseLoginPolicy({ claimsNamespace: 'roles' }), /claimsNamespace must be an http\(s\) URL/);
});

t.test('PROVISIO_ACTION_SECRET is validated', async (t) => {
  t.equal(loadConfig({}).actionSecret, undefined);
  t.equal(loadConfig({ PROVISIO_ACTION_SECRET: 'x'.repeat(32) }).actionSecret, 'x'.repeat(32));
  t.throws(() => loadConfig({ PROVISIO_ACTION_SECRET: 'short' }), ConfigError);
  t.throws(() => loadConfig({ PROVISIO_ACTION_SECRET: ` ${'x'.repeat(40)} ` }), /whitespace/);
});

t.test('token claims and the replay window', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const ok = { jti: 'a'.repeat(20), iat: now, exp: now + 30, bsh: 'h' };
  t.ok(actionTokenClaims(ok));
  t.notOk(actionTokenClaims({ ...ok, exp: now + 3600 }), 'too long-lived');
  t.notOk(actionTokenClaims({ ...ok, jti: 'short' }), 'weak jti');
  t.notOk(actionTokenClaims({ ...ok, bsh: undefined }), 'no body hash');
  t.ok(actionTokenClaims({ ...ok, iat: now + 45, exp: now + 75 }, now), 'iat a little ahead: clock skew is tolerated');
  t.notOk(actionTokenClaims({ ...ok, iat: now + 120, exp: now + 150 }, now), 'iat more than 60 s in the future');
  let clock = 1_000_000;
  const cache = new ReplayCache(() => clock);
  t.equal(cache.remember('j1', 1030), true);
  t.equal(cache.remember('j1', 1030), false, 'second use refused');
  clock = 1_040_000;
  t.equal(cache.remember('j1', 1070), true, 'after the token expired the id is forgotten (the token itself is refused by exp)');
});

t.test('login facts: narrowed from unknown', async (t) => {
  const facts = parseLoginFacts({
    user: { user_id: 'samlp|c|u', email: 'A@Acme.test', email_verified: true, identities: [{ provider: 'samlp', user_id: 'c|u', connection: 'c' }, { provider: 'github', user_id: 42, connection: 'github' }] },
    connection: { id: 'con_1', name: 'c', strategy: 'samlp' }, organization: null, loginsCount: 3, clientId: 'app',
  });
  t.equal(facts.email, 'a@acme.test', 'emails compared lower-cased');
  t.equal(facts.identities[1]?.userId, '42', 'numeric identity ids');
  t.throws(() => parseLoginFacts([]), LoginFactsError);
  t.throws(() => parseLoginFacts({ user: { user_id: 'x' }, connection: { id: 'c', name: 'c', strategy: 's' }, loginsCount: -1 }), /loginsCount/);
  t.throws(() => parseLoginFacts({ user: { user_id: 'x' }, connection: { id: 'c', name: 'c', strategy: 's' }, organization: { id: 'org_1' } }), /organization\.name/);
});
