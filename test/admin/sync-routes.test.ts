import t from 'tap';
import { adminCaller, operator, orgAdmin } from '../helpers/admin.js';
import { createRoles, scimGroup, scimUser, setActive, syncHarness } from '../helpers/sync.js';

const RULES = {
  rules: [{ id: 'admins', match: { by: 'displayName', value: 'Admins' }, grant: { orgRoles: ['admin'], tenantRoles: [], organizations: [] } }],
  defaultGrant: { orgRoles: ['member'], tenantRoles: [], organizations: [] },
};

t.test('an operator binds through the API; the org admin sees users land in Auth0 and explains their roles', async (t) => {
  const h = await syncHarness(t);
  await createRoles(h.emulator, 'admin', 'member');
  const op = await operator(h.app, h.database);
  const admin = await orgAdmin(h.app, h.database, { id: h.tenantId, name: 'acme' });
  const alice = await scimUser(h, 'alice@acme.test');
  const names = ['bob', 'carol', 'dave', 'erin'];
  for (const n of names) await scimUser(h, `${n}@acme.test`);
  await scimGroup(h, 'Admins', [alice]);

  const binding = {
    organization: { name: 'acme', displayName: 'Acme Corp' },
    connections: [{ id: h.emulator.connections.database.id, name: h.emulator.connections.database.name, mode: 'database' }],
    onboardingClientId: h.emulator.client.clientId,
    onboarding: 'password-ticket',
  };
  t.equal((await admin('PUT', '/tenants/acme/binding', { binding })).status, 403, 'binding is the operator\'s');
  const bad = await op('PUT', '/tenants/acme/binding', { binding: { ...binding, deprovision: 'explode' } });
  t.equal(bad.status, 400);
  t.match(bad.body.message, /deprovision/);
  t.equal((await op('GET', '/tenants/acme/binding')).status, 404, 'a rejected binding stored nothing');
  const bound = await op('PUT', '/tenants/acme/binding', { binding, rules: RULES });
  t.equal(bound.status, 200, JSON.stringify(bound.body));
  await h.settle();

  const page1 = await admin('GET', '/tenants/acme/users?limit=2');
  t.same(page1.body.users.map((u: { userName: string }) => u.userName), ['alice@acme.test', 'bob@acme.test']);
  t.match(page1.body.users[0], { sync: { status: 'synced', auth0UserId: /^auth0\|/ }, override: null });
  const rest: string[] = [];
  for (let cursor = page1.body.next; cursor; ) {
    const page = await admin('GET', `/tenants/acme/users?limit=2&cursor=${encodeURIComponent(cursor)}`);
    rest.push(...page.body.users.map((u: { userName: string }) => u.userName));
    cursor = page.body.next;
  }
  t.same(rest, ['carol@acme.test', 'dave@acme.test', 'erin@acme.test'], 'the cursor walks every user once');
  t.same((await admin('GET', '/tenants/acme/users?search=CA')).body.users.map((u: { userName: string }) => u.userName), ['carol@acme.test'], 'search is a case-insensitive prefix');
  t.equal((await admin('GET', '/tenants/acme/users?status=failed')).body.users.length, 0);
  t.equal((await admin('GET', '/tenants/acme/users?cursor=!!')).status, 400, 'a forged cursor is a 400');
  t.equal((await admin('GET', '/tenants/acme/users?status=happy')).status, 400);
  t.equal((await admin('GET', '/tenants/acme/users?limit=0')).status, 400);
  const groups = (await admin('GET', '/tenants/acme/groups')).body.groups;
  t.match(groups, [{ displayName: 'Admins', users: 1, id: String }], 'the groups to filter by, with their user count');
  t.same((await admin('GET', `/tenants/acme/users?group=${groups[0].id}`)).body.users.map((u: { userName: string }) => u.userName), ['alice@acme.test'], 'filtered by group');
  t.same((await admin('GET', '/tenants/acme/groups?search=adm')).body.groups.length, 1);
  t.same((await admin('GET', '/tenants/acme/groups?search=zz')).body.groups, []);
  t.equal((await admin('GET', '/tenants/acme/users?group=Admins')).status, 400, 'a group is named by its id');

  const explained = await admin('GET', `/tenants/acme/users/${alice}`);
  t.equal(explained.status, 200);
  t.match(explained.body.explanation.desired.organizations[0], { name: 'acme', roles: [{ name: 'admin', because: /Admins/ }] });
  t.equal((await admin('GET', '/tenants/acme/users/00000000-0000-4000-8000-000000000000')).status, 404);
  t.match(explained.body.explanation.applied.state.onboarding, { kind: 'password-ticket', ticketIssued: true });
  t.notOk('ticketUrl' in explained.body.explanation.applied.state.onboarding, 'the org admin never sees the password ticket');
  const aliceAuth0 = explained.body.explanation.applied.auth0UserId as string;
  const ticket = h.emulator.emulator.snapshot().tickets.find((x) => x.user_id === aliceAuth0)!.ticket;
  t.match((await op('GET', `/tenants/acme/users/${alice}`)).body.explanation.applied.state.onboarding, { ticketUrl: ticket }, 'the operator, who delivers it, does');

  t.same((await admin('GET', '/tenants/acme/sync')).body, { counts: { synced: 5 }, held: 0 });
  t.notOk('token' in ((await admin('GET', '/tenants/acme/binding')).body.binding.connections[0].scim ?? {}));
});

t.test('the org admin changes the role rules, tests them, blocks and unblocks a user', async (t) => {
  const h = await syncHarness(t);
  await createRoles(h.emulator, 'admin', 'member', 'auditor');
  await h.bind(undefined, RULES);
  const admin = await orgAdmin(h.app, h.database, { id: h.tenantId, name: 'acme' });
  const alice = await scimUser(h, 'alice@acme.test');
  await scimGroup(h, 'Auditors', [alice]);
  await h.settle();

  const tested = await admin('POST', '/tenants/acme/rules/test', {
    groups: ['Auditors'],
    rules: { rules: [{ id: 'audit', match: { by: 'displayName', value: 'Auditors' }, grant: { orgRoles: ['auditor'], tenantRoles: [], organizations: [] } }] },
  });
  t.equal(tested.status, 200);
  t.match(JSON.stringify(tested.body), /auditor/);
  t.match((await admin('POST', '/tenants/acme/rules/test', { groups: ['Auditors'], rules: { mode: 'sometimes' } })).body.message, /mode/);

  const newRules = { ...RULES, rules: [...RULES.rules, { id: 'audit', match: { by: 'displayName', value: 'Auditors' }, grant: { orgRoles: ['auditor'], tenantRoles: [], organizations: [] } }] };
  const widened = await admin('PUT', '/tenants/acme/rules', newRules);
  t.equal(widened.status, 403, 'an org admin cannot grant a role the rules do not grant yet');
  t.match(widened.body.message, /"auditor"/);
  const op = await operator(h.app, h.database);
  t.equal((await op('PUT', '/tenants/acme/rules', newRules)).status, 200, 'the operator can');
  const escalate = { ...newRules, defaultGrant: { orgRoles: ['member'], tenantRoles: ['Provisio operator'], organizations: [] } };
  t.equal((await admin('PUT', '/tenants/acme/rules', escalate)).status, 403, 'nor a tenant role');
  const set = await admin('PUT', '/tenants/acme/rules', { ...newRules, mode: 'first-match' });
  t.equal(set.status, 200, 'but reshapes rules within what is granted');
  t.equal((await admin('PUT', '/tenants/acme/rules', { rules: [{ id: 'x' }] })).status, 400, 'invalid rules are a 400');
  t.equal((await admin('GET', '/tenants/acme/rules')).body.rules.length, 2, 'and changed nothing');
  await h.settle();
  const a = h.auth0User('alice@acme.test')!;
  t.same(h.org('acme')!.members.get(a.user_id as string), ['auditor'], 'the new rule applied ahead of login (the default grant only covers users no rule matches)');

  const blocked = await admin('POST', `/tenants/acme/users/${alice}/block`, { reason: 'laptop stolen' });
  t.equal(blocked.status, 200);
  t.match(blocked.body, { queued: true, user: { override: { blocked: true, by: /^token:/ } } });
  t.match((await admin('GET', `/tenants/acme/users/${alice}`)).body.explanation.desired, { blocked: true, lifecycle: /admin/ }, 'the explanation names the admin block');
  await h.settle();
  t.equal(h.auth0User('alice@acme.test')!.blocked, true, 'blocked in Auth0');
  await admin('POST', `/tenants/acme/users/${alice}/unblock`);
  await h.settle();
  t.equal(h.auth0User('alice@acme.test')!.blocked, false, 'unblocked');
  await setActive(h, alice, false);
  await h.settle();
  t.equal(h.auth0User('alice@acme.test')!.blocked, true, 'the IdP still decides: active:false blocks');

  const audit = (await admin('GET', '/tenants/acme/audit')).body.entries.map((e: { action: string }) => e.action);
  t.same(audit, ['user.unblock', 'user.block', 'rules.set', 'rules.set']);
  t.equal((await admin('POST', `/tenants/acme/users/00000000-0000-4000-8000-000000000000/block`)).status, 404);
});

t.test('invitations, GDPR erase, reconcile and the guard release through the API', async (t) => {
  const h = await syncHarness(t);
  await createRoles(h.emulator, 'member', 'admin');
  const op = await operator(h.app, h.database);
  const admin = await orgAdmin(h.app, h.database, { id: h.tenantId, name: 'acme' });
  const bob = await scimUser(h, 'bob@acme.test');
  await h.bind({
    organization: { name: 'acme' },
    connections: [{ id: h.emulator.connections.database.id, name: h.emulator.connections.database.name, mode: 'database' }],
    onboardingClientId: h.emulator.client.clientId,
  }, { defaultGrant: { orgRoles: ['member'], tenantRoles: [], organizations: [] }, rules: [] });
  await h.settle();

  const invited = await admin('POST', '/tenants/acme/invitations', { email: 'contractor@elsewhere.test', roles: ['member'], sendEmail: false });
  t.equal(invited.status, 201, JSON.stringify(invited.body));
  t.match(invited.body.invitationUrl, /invitation=/);
  const listed = await admin('GET', '/tenants/acme/invitations');
  t.same(listed.body.invitations.map((i: { email: string }) => i.email), ['contractor@elsewhere.test']);
  t.equal((await op('POST', '/tenants/acme/invitations', { email: 'x@y.test', roles: ['no-such-role'] })).status, 400, 'an unknown role is a 400');
  t.equal((await admin('POST', '/tenants/acme/invitations', { email: 'x@y.test', roles: ['admin'] })).status, 403, 'an org admin invites only with roles the rules grant');
  t.equal((await admin('POST', '/tenants/acme/invitations', { email: 'not an email' })).status, 400);
  t.equal((await admin('DELETE', `/tenants/acme/invitations/${invited.body.id}`)).status, 204);
  t.equal((await admin('DELETE', `/tenants/acme/invitations/${invited.body.id}`)).status, 404);
  t.equal((await admin('GET', '/tenants/acme/invitations')).body.invitations.length, 0);

  const drift = await op('POST', '/tenants/acme/reconcile', { dryRun: true });
  t.same(drift.body, { dryRun: true, drift: [] }, 'nothing drifted');

  const erased = await admin('DELETE', `/tenants/acme/users/${bob}`);
  t.equal(erased.status, 202);
  await h.settle();
  t.equal(h.auth0User('bob@acme.test'), undefined, 'the Auth0 user is deleted');
  t.equal((await h.scim.json('GET', `/Users/${bob}`)).status, 404, 'and the directory user');
  t.equal((await admin('GET', `/tenants/acme/users/${bob}`)).status, 404);

  t.same((await admin('POST', '/tenants/acme/sync/release')).body, { released: 0 });
  t.equal((await adminCaller(h.app, undefined)('POST', '/tenants/acme/sync/release')).status, 401);
});

t.test('a rules change and a binding change at the same moment both land', async (t) => {
  const h = await syncHarness(t);
  await createRoles(h.emulator, 'admin', 'member');
  await h.bind(undefined, RULES);
  const op = await operator(h.app, h.database);
  const admin = await orgAdmin(h.app, h.database, { id: h.tenantId, name: 'acme' });
  const binding = (await op('GET', '/tenants/acme/binding')).body.binding;
  for (let round = 0; round < 5; round++) {
    const displayName = `Acme ${round}`;
    const mode = round % 2 ? 'all-matching' : 'first-match';
    const [b, r] = await Promise.all([
      op('PUT', '/tenants/acme/binding', { binding: { ...binding, organization: { name: 'acme', displayName } } }),
      admin('PUT', '/tenants/acme/rules', { ...RULES, mode }),
    ]);
    t.same([b.status, r.status], [200, 200]);
    const stored = (await op('GET', '/tenants/acme/binding')).body;
    t.same([stored.binding.organization.displayName, stored.rules.mode], [displayName, mode], `round ${round}: neither change overwrote the other`);
  }
});

t.test('failed syncs are retried on demand once the cause is fixed, and only failed ones', async (t) => {
  const h = await syncHarness(t);
  const admin = await orgAdmin(h.app, h.database, { id: h.tenantId, name: 'acme' });
  const alice = await scimUser(h, 'alice@acme.test');
  await scimUser(h, 'bob@acme.test');
  await scimGroup(h, 'Admins', [alice]);
  await h.bind(undefined, RULES);
  await h.settle();
  const failed = await admin('GET', '/tenants/acme/users?status=failed');
  t.same(failed.body.users.map((u: { userName: string }) => u.userName), ['alice@acme.test', 'bob@acme.test'], 'the roles do not exist in Auth0: both fail');
  t.match(failed.body.users[0].sync.lastError, /role\(s\) not found in Auth0/);

  await createRoles(h.emulator, 'admin', 'member');
  t.same((await admin('POST', '/tenants/acme/sync/retry', { userIds: [alice] })).body, { retried: 1 }, 'only the named user');
  await h.settle();
  const counts = (await admin('GET', '/tenants/acme/sync')).body.counts;
  t.same(counts, { synced: 1, failed: 1 });
  t.same((await admin('POST', '/tenants/acme/sync/retry')).body, { retried: 1 }, 'then every failed one');
  await h.settle();
  t.same((await admin('GET', '/tenants/acme/sync')).body.counts, { synced: 2 });
  t.same((await admin('POST', '/tenants/acme/sync/retry', {})).body, { retried: 0 }, 'nothing failed: nothing queued');
  t.equal((await admin('POST', '/tenants/acme/sync/retry', { userIds: ['not-a-uuid'] })).status, 400);
  const audit = (await admin('GET', '/tenants/acme/audit')).body;
  t.ok(JSON.stringify(audit).includes('sync.retry'), 'retries are in the tenant\'s audit trail');
});

t.test('sync lag per minute: how long changes took to reach Auth0', async (t) => {
  const h = await syncHarness(t);
  const admin = await orgAdmin(h.app, h.database, { id: h.tenantId, name: 'acme' });
  await h.bind();
  for (const n of ['a', 'b', 'c']) await scimUser(h, `${n}@acme.test`);
  await h.settle();
  const lag = await admin('GET', '/tenants/acme/sync/lag?hours=1');
  t.equal(lag.status, 200);
  const minutes = lag.body.perMinute as { minute: string; synced: number; p50Ms: number; maxMs: number }[];
  t.equal(minutes.reduce((n, m) => n + m.synced, 0), 3, 'every synced user counts once');
  for (const m of minutes) {
    t.ok(m.p50Ms >= 0 && m.maxMs >= m.p50Ms && m.maxMs < 60_000, `a plausible lag (${m.p50Ms} ms median, ${m.maxMs} ms max)`);
    t.match(m.minute, /:00\.000Z$/, 'whole minutes');
  }
  t.equal((await admin('GET', '/tenants/acme/sync/lag?hours=0')).status, 400);
});
