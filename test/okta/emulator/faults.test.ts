import t from 'tap';
import { all, checkResponses, oktaError, startOktaHarness } from './harness.js';

// A one-second rate window keeps the SDK's wait for an injected 429 short.
const h = await startOktaHarness({ rateWindowMs: 1000, faultSeed: 1 });
t.teardown(() => h.close());
t.afterEach(() => h.emu.faults.clear());

async function createUser(login: string, sdk = h.sdk) {
  return sdk.userApi.createUser({ body: { profile: { login, email: login } } });
}

t.test('an injected 500 reaches the SDK as OktaApiError 500; `times` limits it', async (t) => {
  h.emu.faults.set('POST /api/v1/users', { errorRate: 1, times: 1 });
  const failed = await oktaError(createUser('once@example.com'));
  t.equal(failed.status, 500);
  t.equal(failed.errorCode, 'E0000009');
  t.equal(failed.errorSummary, 'Internal Server Error');
  t.notOk(h.emu.state.userByLogin('once@example.com'), 'before the change: nothing was created');
  t.equal((await createUser('once@example.com')).profile?.login, 'once@example.com', 'the rule was used up');
  t.same(h.emu.faults.list(), {});
});

t.test('errorPhase after: the change is made, then the error is answered', async (t) => {
  h.emu.faults.set('POST /api/v1/users', { errorRate: 1, errorStatus: 503, errorPhase: 'after', times: 1 });
  const failed = await oktaError(createUser('after@example.com'));
  t.equal(failed.status, 503);
  t.equal(failed.errorCode, 'E0000010');
  t.equal((await h.sdk.userApi.getUser({ userId: 'after@example.com' })).profile?.login, 'after@example.com', 'the user exists');
});

t.test('an injected 429 carries the rate-limit headers, and the SDK waits it out', async (t) => {
  const user = await createUser('wait@example.com');
  const userId = user.id ?? '';
  h.emu.faults.set('GET /api/v1/users/{userId}', { errorRate: 1, errorStatus: 429, times: 1 });
  const limited = await oktaError(h.client({ retries: 0 }).userApi.getUser({ userId }));
  t.equal(limited.status, 429);
  t.equal(limited.errorCode, 'E0000047');
  t.equal(limited.headers.get('x-rate-limit-limit'), '600', "Okta's budget for the family when none is configured");
  t.equal(limited.headers.get('x-rate-limit-remaining'), '0');
  t.match(limited.headers.get('x-rate-limit-reset'), /^\d{10}$/);

  h.emu.faults.set('GET /api/v1/users/{userId}', { errorRate: 1, errorStatus: 429, times: 1 });
  const since = h.emu.calls.last;
  const started = Date.now();
  t.equal((await h.sdk.userApi.getUser({ userId })).id, userId, 'the retry succeeds');
  t.ok(Date.now() - started >= 1000, 'after waiting for X-Rate-Limit-Reset');
  t.same(h.emu.calls.list({ since }).map((c) => [c.operation, c.status, c.fault]), [
    ['GET /api/v1/users/{userId}', 429, 'error'],
    ['GET /api/v1/users/{userId}', 200, undefined],
  ]);
});

t.test('a timeout leaves the request unanswered until the client gives up', async (t) => {
  h.emu.faults.set('GET /api/v1/groups', { timeoutRate: 1, times: 1 });
  const since = h.emu.calls.last;
  await t.rejects(all(h.client({ requestTimeout: 300 }).groupApi.listGroups()), { name: 'FetchError', type: 'request-timeout' });
  t.same(h.emu.calls.list({ since }).map((c) => [c.operation, c.status, c.fault]), [['GET /api/v1/groups', 0, 'timeout']]);
  t.equal((await all(h.sdk.groupApi.listGroups())).length, 1, 'the next call is answered');
});

t.test('a reset drops the connection', async (t) => {
  h.emu.faults.set('*', { resetRate: 1, times: 1 });
  await t.rejects(all(h.sdk.groupApi.listGroups()), { name: 'FetchError' });
  t.equal(h.emu.calls.list().at(-1)?.fault, 'reset');
});

t.test('latency is added to every matching request', async (t) => {
  h.emu.faults.set('GET /api/v1/groups', { latencyMs: 150 });
  const started = Date.now();
  await all(h.sdk.groupApi.listGroups());
  t.ok(Date.now() - started >= 150);
});

t.test('rates draw from a seeded PRNG: the same seed replays the same failures', async (t) => {
  const user = await createUser('coin@example.com');
  const outcomes = async (): Promise<number[]> => {
    h.emu.faults.seed(42);
    h.emu.faults.set('GET /api/v1/users/{userId}', { errorRate: 0.5 });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push(await h.sdk.userApi.getUser({ userId: user.id ?? '' }).then(() => 200, (err: { status: number }) => err.status));
    }
    return statuses;
  };
  const first = await outcomes();
  t.same(await outcomes(), first);
  t.ok(first.includes(500) && first.includes(200), 'some calls fail, some succeed');
});

t.test('injected failures still need a valid credential', async (t) => {
  h.emu.faults.set('GET /api/v1/users', { errorRate: 1 });
  const anonymous = await oktaError(all(h.client({ token: 'wrong' }).userApi.listUsers()));
  t.equal(anonymous.status, 401);
});

t.test('a bad rule is refused', async (t) => {
  t.throws(() => h.emu.faults.set('*', { errorStatus: 404, errorRate: 1 }), { name: 'FaultRuleError' });
  t.throws(() => h.emu.faults.set('*', { errorRate: 2 }), { name: 'FaultRuleError' });
});

t.test('every answer has the documented shape', async (t) => {
  t.ok(checkResponses(t, h) > 10);
});
