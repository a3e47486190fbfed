import t from 'tap';
import { all, oktaError, startOktaHarness } from './harness.js';

t.test('a family over budget answers 429 E0000047 with the three headers', async (t) => {
  const h = await startOktaHarness({ rateLimits: { users: 1 } });
  t.teardown(() => h.close());
  const sdk = h.client({ retries: 0 });
  await all(sdk.userApi.listUsers());
  const limited = await oktaError(all(sdk.userApi.listUsers()));
  t.equal(limited.status, 429);
  t.equal(limited.errorCode, 'E0000047');
  t.equal(limited.errorSummary, 'API call exceeded rate limit due to too many requests.');
  t.equal(limited.headers.get('x-rate-limit-limit'), '1');
  t.equal(limited.headers.get('x-rate-limit-remaining'), '0');
  t.match(limited.headers.get('x-rate-limit-reset'), /^\d{10}$/);
  const group = await sdk.groupApi.createGroup({ group: { profile: { name: 'unlimited' } } });
  t.ok(group.id, 'other families keep their own budget');
});
