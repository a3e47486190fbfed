import t from 'tap';
import { ManagementError } from 'auth0';
import { checkResponses, startHarness } from './harness.js';

const h = await startHarness({ faultSeed: 42 });
t.teardown(() => h.close());

t.test('an injected 503 is retried by the SDK; times limits the rule', async (t) => {
  h.emu.emulator.injectFault('GET /roles', { errorRate: 1, errorStatus: 503, times: 1 });
  const since = h.emu.emulator.calls.last;
  await h.mgmt.roles.list();
  const calls = h.emu.emulator.callLog({ operation: 'GET /roles', since });
  t.same(calls.map((c) => c.status), [503, 200]);
  t.equal(calls[0]?.fault, 'error');
  t.same(h.emu.emulator.faults.list(), {}, 'the rule is gone after one use');
});

t.test('errorPhase after: the change is applied but the caller sees a 500', async (t) => {
  h.emu.emulator.injectFault('POST /organizations', { errorRate: 1, errorPhase: 'after', times: 1 });
  const sdk = h.client({ maxRetries: 0 });
  try {
    await sdk.organizations.create({ name: 'half-done' });
    t.fail('expected 500');
  } catch (err) {
    t.equal((err as ManagementError).statusCode, 500);
  }
  t.ok(h.emu.emulator.state.organizationByName('half-done'), 'the organization exists anyway');
  const retry = await h.client({ maxRetries: 0 }).organizations.create({ name: 'half-done' }).catch((e: unknown) => e);
  t.equal((retry as ManagementError).statusCode, 409, 'a naive retry now conflicts');
});

t.test('latency, connection reset and timeout', async (t) => {
  h.emu.emulator.injectFault('GET /connections', { latencyMs: 150, times: 1 });
  const started = Date.now();
  await h.mgmt.connections.list();
  t.ok(Date.now() - started >= 140, 'latency added');

  h.emu.emulator.injectFault('GET /roles', { resetRate: 1, times: 1 });
  // The SDK leaves its request-timeout timer running after a network error: keep it short so the test
  // process does not linger for the default 60 s.
  const reset = await h.client({ maxRetries: 0, timeoutInSeconds: 1 }).roles.list().catch((e: unknown) => e);
  t.ok(reset instanceof Error, 'reset surfaces as a network error');
  t.equal(h.emu.emulator.callLog({ operation: 'GET /roles' }).at(-1)?.fault, 'reset');

  h.emu.emulator.injectFault('GET /roles', { timeoutRate: 1, times: 1 });
  const timedOut = await h.client({ maxRetries: 0, timeoutInSeconds: 0.3 }).roles.list().catch((e: unknown) => e);
  t.ok(timedOut instanceof Error, 'timeout surfaces as an error');
  t.match((timedOut as Error).message, /timeout/i);
});

t.test('HTTP inspection API under /__emulator', async (t) => {
  const base = h.emu.baseUrl;
  const put = (path: string, body: unknown) => fetch(`${base}/__emulator${path}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  t.equal((await put('/faults', { target: 'GET /roles', rule: { errorRate: 1, errorStatus: 502, times: 1 } })).status, 204);
  const direct = await h.request('GET', '/api/v2/roles', { token: await h.token() });
  t.equal(direct.status, 502);
  t.match(direct.body, { statusCode: 502, error: 'Bad Gateway' });

  const calls = (await (await fetch(`${base}/__emulator/calls?operation=GET%20/roles`)).json()) as { status: number }[];
  t.equal(calls.at(-1)?.status, 502);

  const state = (await (await fetch(`${base}/__emulator/state`)).json()) as { organizations: { name: string }[] };
  t.ok(state.organizations.some((o) => o.name === 'half-done'));
  t.equal((await put('/consistency', { memberListDelayMs: 10 })).status, 204);
  t.equal(h.emu.emulator.faults.memberListDelayMs, 10);
  t.equal((await put('/rate-limits', { plan: 'enterprise' })).status, 204);
  t.equal(h.emu.emulator.limiter.currentPlan, 'enterprise');
  t.equal((await put('/state', state)).status, 204, 'a snapshot can be restored');

  const reset = (await (await fetch(`${base}/__emulator/reset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { seed: { client: { clientId: string } } };
  t.equal(reset.seed.client.clientId, h.emu.client.clientId, 'reset re-seeds the same client');
  t.equal(h.emu.emulator.state.organizations.size, 0);
  t.same(h.emu.emulator.callLog(), []);
  const roles = await h.client().roles.list();
  t.same(roles.data, [], 'the seeded credentials still work after reset');
});

t.test('every response body matches the OpenAPI spec', async (t) => {
  t.ok(checkResponses(t, h) > 8);
});
