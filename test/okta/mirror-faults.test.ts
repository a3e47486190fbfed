import t from 'tap';
import { sql } from 'kysely';
import { oktaHarness, OKTA_TEST_RULES } from '../helpers/okta.js';
import { scimGroup, scimUser } from '../helpers/sync.js';

// The Okta mirror under faults: 429 storms, 5xx answers and requests left unanswered. A file of their own
// beside mirror.test.ts: they wait out rate windows and retries, and together they took half that file's time.

t.test('429 storms are waited out: every user mirrored once, no failed job', async (t) => {
  const h = await oktaHarness(t, { rateLimits: { users: 4, user: 6, groups: 6 }, rateWindowMs: 1000 });
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) ids.push(await scimUser(h, `u${i}@acme.test`));
  await scimGroup(h, 'Engineering', ids, 'grp-eng');
  await h.bindOkta({ groupRules: OKTA_TEST_RULES });
  await h.settleAll(60_000);
  const users = await h.oktaUsers();
  t.equal(users.size, 12, 'each user exactly once');
  for (const [, u] of users) t.same(await h.oktaGroupsOf(u.id), ['Engineering (from Acme)']);
  t.equal(h.runtime.worker.counts.failed, 0, 'no failed job');
});

t.test('5xx answers (some after the change was made) and 429 storms injected: no failed job, no duplicate', async (t) => {
  // One-second rate windows: an injected 429 says the window resets within a second, and the mirror waits for it.
  const h = await oktaHarness(t, { rateWindowMs: 1000 });
  h.okta.faults.seed(7);
  // Half the creations fail with a 500 after Okta created the user: the retry must find it, not make a second.
  h.okta.faults.set('POST /api/v1/users', { errorRate: 0.5, errorStatus: 500, errorPhase: 'after' });
  h.okta.faults.set('PUT /api/v1/groups/{groupId}/users/{userId}', { errorRate: 0.3, errorStatus: 503 });
  h.okta.faults.set('GET /api/v1/users/{userId}', { errorRate: 0.3, errorStatus: 429 });
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) ids.push(await scimUser(h, `u${i}@acme.test`));
  await scimGroup(h, 'Engineering', ids, 'grp-eng');
  await h.bindOkta({ groupRules: OKTA_TEST_RULES });
  await h.settleAll(60_000);
  const faults = h.okta.calls.list().filter((c) => c.fault === 'error');
  t.ok(faults.length >= 5, `faults were injected (${faults.length})`);
  const users = await h.oktaUsers();
  t.equal(users.size, 10, 'each user exactly once');
  for (const [, u] of users) t.same(await h.oktaGroupsOf(u.id), ['Engineering (from Acme)']);
  const { rows } = await sql<{ status: string; n: string }>`select status, count(*) as n from okta_mirror where tenant_id = ${h.tenantId} group by status`.execute(h.database.db);
  t.same(rows.map((r) => [r.status, Number(r.n)]), [['mirrored', 10]]);
  // A job whose call met three faults in a row is retried by the queue (counted in counts.failed); none may end failed.
  const { rows: ended } = await sql<{ n: string }>`select count(*) as n from ${sql.table(`${h.queueSchema}.job`)} where name = 'okta' and state = 'failed'`.execute(h.database.db);
  t.equal(Number(ended[0]?.n), 0, 'no job ended failed');
  const { rows: dead } = await sql<{ n: string }>`select count(*) as n from ${sql.table(`${h.queueSchema}.job`)} where name = 'okta-dead-letter'`.execute(h.database.db);
  t.equal(Number(dead[0]?.n), 0, 'nothing dead-lettered');
});

t.test('an Okta that does not answer: each request gives up after OKTA_TIMEOUT_MS and is tried again; nothing hangs, nothing fails', async (t) => {
  const h = await oktaHarness(t, { timeoutMs: 300 });
  const alice = await scimUser(h, 'alice@acme.test');
  await scimGroup(h, 'Engineering', [alice], 'grp-eng');
  // The first two group adds never get an answer.
  h.okta.faults.set('PUT /api/v1/groups/{groupId}/users/{userId}', { timeoutRate: 1, times: 2 });
  const started = Date.now();
  await h.bindOkta({ groupRules: OKTA_TEST_RULES });
  await h.settleAll();
  const a = (await h.oktaUsers()).get('alice@acme.test')!;
  t.same(await h.oktaGroupsOf(a.id), ['Engineering (from Acme)'], 'added on the third try');
  t.equal(h.okta.calls.list().filter((c) => c.fault === 'timeout').length, 2, 'two requests were left unanswered');
  t.ok(Date.now() - started < 15_000, `settled in ${Date.now() - started} ms`);
  t.equal(h.runtime.worker.counts.failed, 0, 'no failed job');
});
