import t, { type Test } from 'tap';
import { sql } from 'kysely';
import { DEAD_LETTER_QUEUE } from '../../src/sync/queue.js';
import { createRoles, scimGroup, scimUser, syncHarness, userSyncRow, type SyncHarness } from '../helpers/sync.js';

const RULES = {
  rules: [
    { id: 'admins', match: { by: 'externalId', value: 'grp-admins' }, grant: { orgRoles: ['admin'], tenantRoles: ['operator'] } },
    { id: 'staff', match: { by: 'displayName', value: 'Staff' }, grant: { orgRoles: ['member'], tenantRoles: ['reader'] } },
  ],
};

/** 30 users: everyone in Staff, every third also in Administrators. */
async function directory(h: SyncHarness, n: number): Promise<{ ids: string[]; emails: string[] }> {
  await createRoles(h.emulator, 'admin', 'member', 'operator', 'reader');
  const ids: string[] = [];
  const emails: string[] = [];
  for (let i = 0; i < n; i++) {
    emails.push(`u${i}@acme.test`);
    ids.push(await scimUser(h, `u${i}@acme.test`));
  }
  await scimGroup(h, 'Staff', ids);
  await scimGroup(h, 'Administrators', ids.filter((_, i) => i % 3 === 0), 'grp-admins');
  return { ids, emails };
}

/** Every directory user exists once in Auth0, is a member with the roles the rules grant; no job failed for good. */
async function assertCorrect(t: Test, h: SyncHarness, ids: string[], emails: string[]): Promise<void> {
  const state = h.emulator.emulator.snapshot();
  const roleName = new Map(state.roles.map((r) => [r.id, r.name]));
  const org = h.org('acme');
  t.ok(org, 'organization created');
  t.equal(state.organizations.filter((o) => o.name === 'acme').length, 1, 'one organization');
  t.equal(state.users.length, emails.length, 'as many Auth0 users as directory users (no duplicate)');
  let wrong = 0;
  for (let i = 0; i < emails.length; i++) {
    const users = state.users.filter((u) => u.email === emails[i]);
    const admin = i % 3 === 0;
    const orgRoles = admin ? ['admin', 'member'] : ['member'];
    const tenantRoles = admin ? ['operator', 'reader'] : ['reader'];
    const ok = users.length === 1
      && JSON.stringify(org?.members.get(users[0]!.user_id)) === JSON.stringify(orgRoles)
      && JSON.stringify(users[0]!.roles.map((r) => roleName.get(r)).sort()) === JSON.stringify(tenantRoles);
    if (!ok) {
      wrong++;
      t.fail(`${emails[i]}: ${users.length} user(s), org roles ${JSON.stringify(users[0] && org?.members.get(users[0].user_id))}, tenant roles ${JSON.stringify(users[0]?.roles.map((r) => roleName.get(r)))}`);
    }
    const row = await userSyncRow(h, ids[i]!);
    if (row?.status !== 'synced') t.fail(`${emails[i]}: sync status ${row?.status} (${row?.last_error})`);
  }
  t.equal(wrong, 0, 'every user correct in Auth0');
  const dead = await h.queue.boss.getQueue(DEAD_LETTER_QUEUE);
  t.equal(dead?.totalCount ?? 0, 0, 'nothing dead-lettered');
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.table(`${h.queueSchema}.job`)} where state = 'failed'`.execute(h.database.db);
  t.equal(Number(rows[0]!.n), 0, 'no job ended failed');
}

t.test('429s on member and role writes plus 5xx, timeouts and resets elsewhere: every user right, no job lost', async (t) => {
  const h = await syncHarness(t, { timeoutSeconds: 1 });
  const { ids, emails } = await directory(h, 30);
  const emu = h.emulator.emulator;
  emu.injectFault('POST /organizations/{id}/members', { errorRate: 0.5, errorStatus: 429 });
  emu.injectFault('POST /organizations/{id}/members/{user_id}/roles', { errorRate: 0.3, errorStatus: 429 });
  emu.injectFault('POST /users', { errorRate: 0.2, errorStatus: 503, errorPhase: 'after' });
  emu.injectFault('POST /users/{id}/roles', { errorRate: 0.2, errorStatus: 500 });
  emu.injectFault('GET /users-by-email', { resetRate: 0.1, timeoutRate: 0.2 });
  // At least one reset and one timeout whatever the random draws give (CI once drew none in a run).
  emu.injectFault('GET /roles', { resetRate: 1, times: 1 });
  emu.injectFault('GET /organizations/name/{name}', { timeoutRate: 1, times: 1 });
  await h.bind(undefined, RULES);
  await h.settle(50_000);

  const log = emu.callLog();
  const count = (pred: (c: (typeof log)[number]) => boolean) => log.filter(pred).length;
  const tooMany = count((c) => c.status === 429);
  t.ok(tooMany > 0, `429s were injected (${tooMany})`);
  t.ok(count((c) => c.status >= 500) > 0, '5xx were injected');
  t.ok(count((c) => c.fault === 'reset') > 0, 'connection resets were injected');
  t.ok(count((c) => c.fault === 'timeout') > 0, 'timeouts were injected');
  t.comment(`calls ${log.length}: 429 ${tooMany}, 5xx ${count((c) => c.status >= 500)}, resets ${count((c) => c.fault === 'reset')}, timeouts ${count((c) => c.fault === 'timeout')}; jobs completed ${h.worker.counts.completed}, failed attempts ${h.worker.counts.failed}`);
  await assertCorrect(t, h, ids, emails);

  // A later change with the faults cleared goes through (the queue is still healthy).
  emu.clearFaults();
  const late = await scimUser(h, 'late@acme.test');
  await h.settle();
  t.ok(h.auth0User('late@acme.test'), 'a later user is synced');
  t.equal((await userSyncRow(h, late))?.status, 'synced');
});

t.test('429s only (Free plan pacing and injected 429s): never a failed attempt', async (t) => {
  const h = await syncHarness(t, { plan: 'free' });
  h.emulator.emulator.setPlan('off'); // the test's own setup calls (roles) are not paced
  const { ids, emails } = await directory(h, 3);
  h.emulator.emulator.setPlan('free');
  h.emulator.emulator.injectFault('POST /organizations/{id}/members', { errorRate: 0.5, errorStatus: 429 });
  // The first two role writes always get a 429, so the assertion below never depends on timing.
  h.emulator.emulator.injectFault('POST /users/{id}/roles', { errorRate: 1, errorStatus: 429, times: 2 });
  await h.bind(undefined, RULES);
  await h.settle(50_000);
  t.ok(h.emulator.emulator.callLog().some((c) => c.status === 429), 'there were 429s');
  t.equal(h.worker.counts.failed, 0, 'a 429 never counts as a failure');
  await assertCorrect(t, h, ids, emails);
});
