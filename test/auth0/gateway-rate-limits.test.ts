import t from 'tap';
import { startAuth0Emulator } from '../../src/auth0/emulator/server.js';
import { createManagementClient } from '../../src/auth0/client.js';
import { Auth0Gateway } from '../../src/auth0/gateway.js';
import { Auth0RetryableError } from '../../src/auth0/errors.js';
import { RateBudget, type Auth0Plan } from '../../src/auth0/rate-budget.js';
import { retryAuth0 } from '../../src/auth0/retry.js';

const emu = await startAuth0Emulator({ plan: 'off' });
t.teardown(() => emu.close());
const db = emu.connections.database.name;
const password = 'Sup3r-secret!x';

function gateway(plan: Auth0Plan): Auth0Gateway {
  const client = createManagementClient({
    domain: emu.domain, clientId: emu.client.clientId, clientSecret: emu.client.clientSecret,
    baseUrl: emu.baseUrl, plan: 'free', timeoutSeconds: 5,
  });
  return new Auth0Gateway({ client, budget: new RateBudget({ plan }), secrets: [emu.client.clientSecret] });
}

const throttled = (since: number) => emu.emulator.callLog({ since }).filter((c) => c.status === 429).length;
const lastSeq = () => emu.emulator.callLog().at(-1)?.seq ?? 0;

// Users exist before the limits are switched on; creating them is not what is being measured.
const setup = gateway('off');
const users: string[] = [];
for (let i = 0; i < 110; i++) users.push((await setup.createDatabaseUser({ connection: db, email: `rl${i}@example.com`, password }, 'setup')).user_id);
const org = (await setup.createOrganization({ name: 'rate-org' }, 'setup')).organization;

t.test('Free plan (2 burst / 2 rps): the budget paces calls so no 429 happens, and tenants share it fairly', async (t) => {
  const gw = gateway('free');
  await gw.getUser(users[0] ?? '', 'warm-up'); // token fetched; the emulator's bucket starts now as ours did
  emu.emulator.setPlan('free');
  t.teardown(() => emu.emulator.setPlan('off'));
  const since = lastSeq();
  const started = Date.now();
  const doneAt: Record<string, number> = {};
  const a = users.slice(0, 5).map((id, i) => retryAuth0(() => gw.getUser(id, 'tenant-a')).then(() => { doneAt[`a${i}`] = Date.now() - started; }));
  const b = retryAuth0(() => gw.getUser(users[50] ?? '', 'tenant-b')).then(() => { doneAt['b'] = Date.now() - started; });
  await Promise.all([...a, b]);
  const elapsed = Date.now() - started;
  t.ok(throttled(since) <= 1, `at most one 429 (${throttled(since)})`);
  t.ok(elapsed >= 1900, `6 calls at 2 burst + 2/s take ≥ 2 s (${elapsed} ms)`);
  const lastA = Math.max(...Object.entries(doneAt).filter(([k]) => k.startsWith('a')).map(([, v]) => v));
  t.ok((doneAt['b'] ?? Infinity) < lastA, `B (${doneAt['b']} ms) is not queued behind all of A (${lastA} ms)`);
  t.ok((doneAt['b'] ?? Infinity) <= 1600, 'B is served within about one refill of the burst');
});

t.test('Without pacing the Free plan answers 429s; retrying per retryAt still never surfaces them', async (t) => {
  const gw = gateway('off');
  await gw.getUser(users[0] ?? '', 'warm-up');
  emu.emulator.setPlan('free');
  t.teardown(() => emu.emulator.setPlan('off'));
  const since = lastSeq();
  const raw = await Promise.allSettled(users.slice(0, 5).map((id) => gw.getUser(id, 't')));
  const rejected = raw.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as unknown);
  t.ok(rejected.length >= 2, 'a burst of 5 over a bucket of 2 is throttled');
  t.ok(rejected.every((e) => e instanceof Auth0RetryableError && e.reason === 'rate_limited' && e.retryAt > Date.now() - 2000));
  t.equal(gw.stats.get('GET /users/{id}', 429), rejected.length, 'counted per status');
  t.ok(gw.budget.snapshot().throttled >= 2, 'the budget saw the 429s');

  const results = await Promise.all(users.slice(5, 8).map((id) => retryAuth0(() => gw.getUser(id, 't'))));
  t.equal(results.filter(Boolean).length, 3, 'every call eventually succeeded');
  t.ok(throttled(since) >= 2);
});

t.test('Enterprise plan: 25 member POSTs (250 users) drain at 20 burst + 200/min with no 429', async (t) => {
  const gw = gateway('enterprise');
  await gw.getOrganization(org.id, 'warm-up');
  emu.emulator.setPlan('enterprise');
  t.teardown(() => emu.emulator.setPlan('off'));
  const since = lastSeq();
  const started = Date.now();
  await gw.addMembers(org.id, [...users, ...users, ...users.slice(0, 30)], 'tenant-a');
  const elapsed = Date.now() - started;
  const posts = emu.emulator.callLog({ operation: 'POST /organizations/{id}/members', since });
  t.equal(posts.length, 25);
  t.equal(throttled(since), 0, 'no 429');
  t.ok(elapsed >= 1200 && elapsed < 4000, `5 calls beyond the burst at 3.33/s ≈ 1.5 s (${elapsed} ms)`);
  const snap = gw.budget.snapshot().buckets.find((b) => b.bucket === 'write_org_members');
  t.equal(snap?.limit, 20);
  t.ok((snap?.remaining ?? 99) <= 1, 'snapshot shows the bucket drained');
});

t.test('Injected 429 and 5xx on member adds: retried, membership complete, nothing duplicated', async (t) => {
  const gw = gateway('off');
  const o = (await gw.createOrganization({ name: 'fault-org' }, 't')).organization;
  emu.emulator.injectFault('POST /organizations/{id}/members', { errorRate: 1, errorStatus: 429, times: 1 });
  emu.emulator.injectFault('DELETE /organizations/{id}/members', { errorRate: 1, errorStatus: 503, errorPhase: 'after', times: 1 });
  t.teardown(() => emu.emulator.clearFaults());
  const ids = users.slice(0, 15);
  const started = Date.now();
  await retryAuth0(() => gw.addMembers(o.id, ids, 't'), { baseDelayMs: 50 });
  t.ok(Date.now() - started >= 900, 'a 429 without reset headers waits about a second');
  t.same((await gw.listMemberIds(o.id, 't')).sort(), [...ids].sort());
  await retryAuth0(() => gw.removeMembers(o.id, ids.slice(0, 5), 't'), { baseDelayMs: 50 });
  t.same((await gw.listMemberIds(o.id, 't')).sort(), ids.slice(5).sort(), '5xx after the change: the retry is harmless');
  t.equal(gw.stats.get('POST /organizations/{id}/members', 429), 1);
  t.equal(gw.stats.get('DELETE /organizations/{id}/members', 503), 1);
});

t.test('inbound SCIM is metered per connection (Free: 5 rps) without 429s', async (t) => {
  const gw = gateway('free');
  emu.emulator.setPlan('free');
  t.teardown(() => emu.emulator.setPlan('off'));
  const since = lastSeq();
  const { url, token } = emu.connections.enterprise.scim;
  const ids = await Promise.all(Array.from({ length: 8 }, (_, i) =>
    retryAuth0(() => gw.createInboundScimUser(url, token, { userName: `s${i}@acme.example`, externalId: `s${i}` }, 't'))));
  t.equal(new Set(ids).size, 8);
  t.equal(throttled(since), 0);
});
