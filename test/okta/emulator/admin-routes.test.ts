import t from 'tap';
import { all, oktaError, serviceAppKey, startOktaHarness } from './harness.js';

const h = await startOktaHarness();
t.teardown(() => h.close());
// `/__emulator` is the emulator's own surface, not Okta's: plain HTTP, as a tool outside the test would use it.
const admin = `${h.emu.baseUrl}/__emulator`;

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${admin}${path}`, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
}

t.test('faults are set, listed and cleared over HTTP', async (t) => {
  const set = await send('POST', '/faults', { target: 'POST /api/v1/groups', rule: { errorRate: 1, errorStatus: 502, times: 1 } });
  t.equal(set.status, 204);
  t.same(await (await send('GET', '/faults')).json(), { rules: { 'POST /api/v1/groups': { errorRate: 1, errorStatus: 502, times: 1 } } });
  const failed = await oktaError(h.sdk.groupApi.createGroup({ group: { profile: { name: 'Ops' } } }));
  t.equal(failed.status, 502);

  t.equal((await send('PUT', '/faults', { target: '*', rule: { errorRate: 1 } })).status, 204, 'PUT as on the Auth0 emulator');
  t.equal((await send('DELETE', '/faults?target=*')).status, 204);
  t.same(await (await send('GET', '/faults')).json(), { rules: {} });
  t.ok((await h.sdk.groupApi.createGroup({ group: { profile: { name: 'Ops' } } })).id);

  const bad = await send('POST', '/faults', { target: '*', rule: { errorStatus: 404, errorRate: 1 } });
  t.equal(bad.status, 400);
  t.match(await bad.json(), { errorCode: 'E0000001', errorCauses: [{ errorSummary: /errorStatus must be 429 or a 5xx status/ }] });
  t.equal((await send('POST', '/faults', { rule: {} })).status, 400, 'a target is required');
});

t.test('the call log is read and cleared over HTTP; admin calls are not in it', async (t) => {
  const calls = (await (await send('GET', '/calls?operation=POST%20/api/v1/groups')).json()) as { status: number; fault?: string }[];
  t.same(calls.map((c) => [c.status, c.fault]), [[502, 'error'], [200, undefined]]);
  const everything = (await (await send('GET', '/calls')).json()) as { url: string }[];
  t.notOk(everything.some((c) => c.url.startsWith('/__emulator')));
  t.equal((await send('DELETE', '/calls')).status, 204);
  t.same(await (await send('GET', '/calls')).json(), []);
});

t.test('a service app is registered over HTTP and its key works with the SDK', async (t) => {
  const key = serviceAppKey();
  const created = await send('POST', '/service-apps', { publicJwk: key.publicJwk, scopes: ['okta.groups.read'] });
  t.equal(created.status, 201);
  const { clientId } = (await created.json()) as { clientId: string };
  t.match(clientId, /^0oa[A-Za-z0-9]{17}$/);
  const sdk = h.serviceAppClient({ clientId, privateKey: key.privateJwk, scopes: ['okta.groups.read'] });
  t.same((await all(sdk.groupApi.listGroups())).map((g) => g?.profile?.name), ['Everyone', 'Ops']);

  const duplicate = await send('POST', '/service-apps', { clientId, publicJwk: key.publicJwk, scopes: [] });
  t.equal(duplicate.status, 400);
  t.equal((await send('POST', '/service-apps', { publicJwk: { kty: 'oct', k: 'c2VjcmV0' }, scopes: [] })).status, 400, 'not an RSA or EC key');
});

t.test('reset empties the org but keeps credentials working', async (t) => {
  t.equal((await send('POST', '/reset')).status, 204);
  t.same((await all(h.sdk.groupApi.listGroups())).map((g) => g?.profile?.name), ['Everyone']);
  t.same(await all(h.sdk.userApi.listUsers()), []);
});
