import t from 'tap';
import { Management, ManagementError } from 'auth0';
import { RateLimiter, RATE_PLANS } from '../../../src/auth0/emulator/rate-limit.js';
import { checkResponses, startHarness } from './harness.js';

t.test('token buckets follow the plan tables', async (t) => {
  let now = 1_000_000;
  const free = new RateLimiter('free', () => now);
  t.ok(free.take('read_users').allowed);
  t.ok(free.take('write_orgs').allowed);
  const third = free.take('other');
  t.notOk(third.allowed, 'Free: global burst of 2');
  t.equal(third.message, 'Global limit has been reached');
  t.same(third.headers, { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil((now + 500) / 1000)) });
  now += 500;
  t.ok(free.take('other').allowed, 'refills at 2 per second');

  const essentials = new RateLimiter('essentials', () => now);
  for (let i = 0; i < 20; i++) t.ok(essentials.take('write_org_members').allowed);
  t.notOk(essentials.take('write_org_members').allowed, 'Essentials: write org members burst 20');
  t.ok(essentials.take('read_users').allowed, 'other buckets are independent');
  t.equal(RATE_PLANS.essentials.endpoints.write_org_members?.perSecond, 200 / 60);

  const enterprise = new RateLimiter('enterprise', () => now);
  for (let i = 0; i < 50; i++) enterprise.take('read_users');
  t.equal(enterprise.take('read_users').message, 'Global limit has been reached', 'Enterprise: global burst 50');

  const off = new RateLimiter('off', () => now);
  t.same(off.take('other'), { allowed: true, headers: {} });
});

t.test('through the SDK', async (t) => {
  const h = await startHarness({ plan: 'free' });
  t.teardown(() => h.close());
  const token = await h.token();

  await t.test('headers on every response', async (t) => {
    h.emu.emulator.limiter.reset();
    const res = await h.request('GET', '/api/v2/roles', { token });
    t.equal(res.status, 200);
    t.equal(res.headers.get('x-ratelimit-limit'), '2');
    t.equal(res.headers.get('x-ratelimit-remaining'), '1');
    t.match(res.headers.get('x-ratelimit-reset'), /^\d{10}$/);
    const missing = await h.request('GET', '/api/v2/roles/rol_0000000000000000', { token });
    t.equal(missing.status, 404);
    t.ok(missing.headers.get('x-ratelimit-remaining'), 'errors carry the headers too');
  });

  await t.test('429 with the documented body; maxRetries: 0 surfaces it', async (t) => {
    h.emu.emulator.limiter.reset();
    const sdk = h.client({ maxRetries: 0 });
    await sdk.roles.list();
    h.emu.emulator.limiter.reset();
    await sdk.roles.list();
    await sdk.roles.list();
    try {
      await sdk.roles.list();
      t.fail('expected 429');
    } catch (err) {
      t.ok(err instanceof Management.TooManyRequestsError);
      const e = err as ManagementError;
      t.same(e.body, { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached', errorCode: 'too_many_requests' });
      t.equal(e.rawResponse?.headers.get('x-ratelimit-remaining'), '0');
      t.ok(e.rawResponse?.headers.get('x-ratelimit-reset'));
    }
  });

  await t.test('the SDK retries a 429 after x-ratelimit-reset and succeeds', async (t) => {
    h.emu.emulator.limiter.reset();
    const sdk = h.client();
    await sdk.roles.list();
    h.emu.emulator.limiter.reset();
    const since = h.emu.emulator.calls.last;
    const started = Date.now();
    await Promise.all([sdk.roles.list(), sdk.roles.list(), sdk.roles.list()]);
    const statuses = h.emu.emulator.callLog({ operation: 'GET /roles', since }).map((c) => c.status);
    t.ok(statuses.includes(429), 'one call was limited');
    t.equal(statuses.filter((s) => s === 200).length, 3, 'and retried to success');
    t.ok(Date.now() - started < 5000);
  });

  await t.test('per-endpoint bucket override (Essentials-style message)', async (t) => {
    h.emu.emulator.setPlan('essentials');
    h.emu.emulator.setRateLimit('write_org_members', { burst: 1, perSecond: 0.001 });
    const sdk = h.client({ maxRetries: 0 });
    const org = await sdk.organizations.create({ name: 'limited' });
    const user = await sdk.users.create({ connection: h.emu.connections.database.name, email: 'rl@example.com', password: 'Sup3r-secret!' });
    await sdk.organizations.members.create(org.id ?? '', { members: [user.user_id ?? ''] });
    try {
      await sdk.organizations.members.create(org.id ?? '', { members: [user.user_id ?? ''] });
      t.fail('expected 429');
    } catch (err) {
      t.ok(err instanceof Management.TooManyRequestsError);
      t.match((err as ManagementError).body, { statusCode: 429, errorCode: 'too_many_requests', message: /X-RateLimit-Limit/ });
      t.equal((err as ManagementError).rawResponse?.headers.get('x-ratelimit-limit'), '1');
    }
  });

  await t.test('every response body matches the OpenAPI spec', async (t) => {
    t.ok(checkResponses(t, h) > 10);
  });
});
