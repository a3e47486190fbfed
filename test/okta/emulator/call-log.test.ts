import t from 'tap';
import { all, oktaError, serviceAppKey, startOktaHarness } from './harness.js';

const h = await startOktaHarness();
t.teardown(() => h.close());

t.test('every request is recorded with its operation template, status and duration', async (t) => {
  const user = await h.sdk.userApi.createUser({ body: { profile: { login: 'ada@example.com', email: 'ada@example.com' }, credentials: { password: { value: 'Sup3r-secret!' } } } });
  await h.sdk.userApi.getUser({ userId: user.id ?? '' });
  await all(h.sdk.userApi.listUserGroups({ userId: user.id ?? '' }));
  await oktaError(h.sdk.groupApi.getGroup({ groupId: '00gmissing' }));

  const calls = h.emu.calls.list();
  t.same(calls.map((c) => [c.method, c.operation, c.status]), [
    ['POST', 'POST /api/v1/users', 200],
    ['GET', 'GET /api/v1/users/{userId}', 200],
    ['GET', 'GET /api/v1/users/{userId}/groups', 200],
    ['GET', 'GET /api/v1/groups/{groupId}', 404],
  ]);
  t.equal(calls[1]?.url, `/api/v1/users/${user.id}`, 'the URL as received');
  t.ok(calls.every((c) => typeof c.duration_ms === 'number' && !Number.isNaN(Date.parse(c.at))));
  t.same(calls[0]?.body, { profile: { login: 'ada@example.com', email: 'ada@example.com' }, credentials: { password: { value: '[redacted]' } } },
    'write bodies are kept, passwords are not');
  t.equal(calls[1]?.body, undefined, 'reads have no body');
});

t.test('token requests are logged without the signed assertion, API calls with the app', async (t) => {
  const key = serviceAppKey();
  const clientId = h.emu.registerServiceApp({ publicJwk: key.publicJwk, scopes: ['okta.groups.read'] });
  const since = h.emu.calls.last;
  await all(h.serviceAppClient({ clientId, privateKey: key.privateJwk, scopes: ['okta.groups.read'] }).groupApi.listGroups());
  const [token, list] = h.emu.calls.list({ since });
  t.equal(token?.operation, 'POST /oauth2/v1/token');
  t.same(token?.body, {
    grant_type: 'client_credentials',
    scope: 'okta.groups.read',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  });
  t.equal(token?.client_id, clientId);
  t.same([list?.operation, list?.status, list?.client_id], ['GET /api/v1/groups', 200, clientId]);
});

t.test('the log filters by operation and sequence, and clears', async (t) => {
  t.equal(h.emu.calls.list({ operation: 'POST /api/v1/users' }).length, 1);
  const last = h.emu.calls.last;
  t.same(h.emu.calls.list({ since: last }), []);
  h.emu.calls.clear();
  t.same(h.emu.calls.list(), []);
});
