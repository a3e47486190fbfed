import t from 'tap';
import { sql } from 'kysely';
import { oktaHarness, OKTA_TEST_RULES, type OktaHarness } from '../helpers/okta.js';
import { PATCH_OP, scimGroup, scimUser, setActive } from '../helpers/sync.js';

async function mirrorRow(h: OktaHarness, userId: string) {
  const { rows } = await sql<{ status: string; okta_user_id: string | null; last_error: string | null }>`
    select status, okta_user_id, last_error from okta_mirror where tenant_id = ${h.tenantId} and user_id = ${userId}`.execute(h.database.db);
  return rows[0];
}

t.test('every provisioned user gets exactly one Okta user with the mapped profile, linked both ways', async (t) => {
  const h = await oktaHarness(t);
  const alice = await scimUser(h, 'alice@acme.test', { name: { givenName: 'Alice', familyName: 'Liddell' }, title: 'Engineer' });
  const bob = await scimUser(h, 'bob@acme.test', { name: undefined, displayName: 'Bob Builder' });
  await h.bindOkta({ profileMapping: [
    { scim: 'userName', okta: 'login' }, { scim: 'emails.value', okta: 'email' },
    { scim: 'name.givenName', okta: 'firstName' }, { scim: 'displayName', okta: 'firstName' },
    { scim: 'name.familyName', okta: 'lastName' }, { scim: 'displayName', okta: 'lastName' },
    { scim: 'title', okta: 'title' },
  ] });
  await h.settleAll();
  const users = await h.oktaUsers();
  t.equal(users.size, 2, 'one Okta user per directory user');
  const a = users.get('alice@acme.test')!;
  t.equal(a.status, 'ACTIVE', 'created active (federated: no password, no email)');
  t.match(a.profile, { login: 'alice@acme.test', email: 'alice@acme.test', firstName: 'Alice', lastName: 'Liddell', title: 'Engineer' });
  const auth0Alice = h.auth0User('alice@acme.test')!;
  t.equal(a.profile.auth0UserId, auth0Alice.user_id, 'the Okta user names its Auth0 user');
  t.equal((auth0Alice.app_metadata as Record<string, unknown>).okta_user_id, a.id, 'the Auth0 user names its Okta user');
  t.match(users.get('bob@acme.test')!.profile, { firstName: 'Bob Builder', lastName: 'Bob Builder' }, 'fallbacks fill the names Okta requires');
  t.equal((await mirrorRow(h, alice))?.status, 'mirrored');
  t.equal((await mirrorRow(h, bob))?.okta_user_id, users.get('bob@acme.test')!.id);

  // A profile change flows through the Auth0 sync into Okta; nothing is created twice.
  await h.scim.json('PATCH', `/Users/${alice}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Staff Engineer' }] });
  await h.settleAll();
  const again = await h.oktaUsers();
  t.equal(again.size, 2);
  t.equal(again.get('alice@acme.test')!.profile.title, 'Staff Engineer');
  t.equal(again.get('alice@acme.test')!.id, a.id);

  // A change Okta does not see (an attribute no mapping reads) costs the mirror no Okta call at all.
  const calls = h.okta.calls.list().filter((c) => !c.url.startsWith('/__emulator')).length;
  const jobs = h.runtime.worker.counts.completed;
  await h.scim.json('PATCH', `/Users/${alice}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'nickName', value: 'Al' }] });
  await h.settleAll();
  t.ok(h.runtime.worker.counts.completed > jobs, 'the mirror ran');
  t.equal(h.okta.calls.list().filter((c) => !c.url.startsWith('/__emulator')).length, calls, 'without calling Okta');
  t.equal((await mirrorRow(h, alice))?.status, 'mirrored');
  t.equal(h.runtime.worker.counts.failed, 0);

  // The user's timeline has the Okta runs beside the Auth0 ones, with their calls (templates, no ids).
  await h.worker.history.flush();
  const { userTimeline } = await import('../../src/db/user-timeline.js');
  const timeline = await userTimeline(h.database.db, h.tenantId, alice, 50);
  const runs = timeline.filter((e) => e.kind === 'okta');
  t.ok(runs.length >= 3, `okta runs on the timeline (${runs.length})`);
  const created = runs.at(-1)!;
  t.equal(created.title, `mirrored to Okta as ${a.id}`);
  t.match(created.detail, /^done: createUser, linkAuth0 — provisioned into Auth0/);
  t.same(created.calls?.map((c) => c.operation), ['POST /api/v1/users', 'PATCH /api/v2/users/{id}'], 'the Okta creation and the Auth0 link, as templates');
  t.match(runs[0]!.detail, /^nothing to change/, 'the last run changed nothing');
  t.same(runs[0]!.calls, [], 'and called nobody');
});

t.test('group membership follows the directory; a rename keeps externalId-mapped members', async (t) => {
  const h = await oktaHarness(t);
  const alice = await scimUser(h, 'alice@acme.test');
  const bob = await scimUser(h, 'bob@acme.test');
  const eng = await scimGroup(h, 'Engineering', [alice], 'grp-eng');
  const sales = await scimGroup(h, 'Sales', [bob]);
  await h.bindOkta({ groupRules: OKTA_TEST_RULES });
  await h.settleAll();
  const users = await h.oktaUsers();
  const a = users.get('alice@acme.test')!.id;
  const b = users.get('bob@acme.test')!.id;
  t.same(await h.oktaGroupsOf(a), ['Engineering (from Acme)'], 'the named Okta group was created and alice added');
  t.same(await h.oktaGroupsOf(b), ['Sales (from Acme)']);

  await h.scim.json('PATCH', `/Groups/${eng}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Eng (renamed)' }] });
  await h.scim.json('PATCH', `/Groups/${sales}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: alice }] }] });
  await h.settleAll();
  t.same(await h.oktaGroupsOf(a), ['Engineering (from Acme)', 'Sales (from Acme)'], 'rename kept the externalId rule; the new Sales membership added');

  await h.scim.json('PATCH', `/Groups/${sales}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${bob}"]` }] });
  await h.settleAll();
  t.same(await h.oktaGroupsOf(b), [], 'leaving the directory group removes the Okta membership');
  t.same(await h.oktaGroupsOf(a), ['Engineering (from Acme)', 'Sales (from Acme)'], 'other members untouched');

  // A rule deleted: the members it put in its Okta group leave it; the other rule's memberships stay.
  await h.bindOkta({ groupRules: [OKTA_TEST_RULES[0]] });
  await h.settleAll();
  t.same(await h.oktaGroupsOf(a), ['Engineering (from Acme)'], 'the deleted rule\'s group is left');
  t.equal(h.worker.counts.failed, 0);
  t.equal(h.runtime.worker.counts.failed, 0, 'no failed Okta job');
});

t.test('deactivate, reactivate and delete go through Okta\'s lifecycle, per the binding', async (t) => {
  const h = await oktaHarness(t);
  const alice = await scimUser(h, 'alice@acme.test');
  const bob = await scimUser(h, 'bob@acme.test');
  await h.bindOkta();
  await h.settleAll();
  const id = (await h.oktaUsers()).get('alice@acme.test')!.id;

  await setActive(h, alice, false);
  await h.settleAll();
  t.equal((await h.oktaUsers()).get('alice@acme.test')!.status, 'DEPROVISIONED', 'deactivated in the directory → deactivated in Okta');
  t.equal((await mirrorRow(h, alice))?.status, 'deactivated');

  await setActive(h, alice, true);
  await h.settleAll();
  const back = (await h.oktaUsers()).get('alice@acme.test')!;
  t.equal(back.status, 'ACTIVE', 'reactivated through lifecycle/activate');
  t.equal(back.id, id, 'the same Okta user');

  // onDelete: deactivate (default) — the Okta user stays, deactivated.
  t.equal((await h.scim.request('DELETE', `/Users/${alice}`)).statusCode, 204);
  await h.settleAll();
  t.equal((await h.oktaUsers()).get('alice@acme.test')!.status, 'DEPROVISIONED');

  // onDelete: delete — deactivated, then deleted for good; the Auth0 link is cleared.
  await h.bindOkta({ onDelete: 'delete' });
  await h.settleAll();
  t.equal((await h.scim.request('DELETE', `/Users/${bob}`)).statusCode, 204);
  await h.settleAll();
  const left = await h.oktaUsers();
  t.notOk(left.has('bob@acme.test'), 'bob deleted from Okta');
  t.equal((await mirrorRow(h, bob))?.status, 'deleted');
  t.equal(h.runtime.worker.counts.failed, 0);
});

t.test('drift made in the Okta admin console is found by reconcile and repaired', async (t) => {
  const h = await oktaHarness(t);
  const alice = await scimUser(h, 'alice@acme.test', { name: { givenName: 'Alice', familyName: 'Liddell' } });
  await scimUser(h, 'bob@acme.test');
  await scimGroup(h, 'Engineering', [alice], 'grp-eng');
  await h.bindOkta({ groupRules: OKTA_TEST_RULES });
  await h.settleAll();
  const users = await h.oktaUsers();
  const a = users.get('alice@acme.test')!;
  const b = users.get('bob@acme.test')!;

  // Behind Provisio's back: rename alice, take her out of the group, deactivate bob.
  await h.sdk.userApi.updateUser({ userId: a.id, user: { profile: { firstName: 'Mallory' } } as never });
  const group = (await h.oktaGroupsOf(a.id))[0]!;
  let groupId = '';
  for await (const g of await h.sdk.groupApi.listGroups({ q: group })) if (g?.profile?.name === group) groupId = g.id!;
  await h.sdk.groupApi.unassignUserFromGroup({ groupId, userId: a.id });
  await h.sdk.userApi.deactivateUser({ userId: b.id });

  const { findOktaDrift, repairOktaDrift } = await import('../../src/okta/reconcile.js');
  const mirror = (tenant: string, user: string, o: { dryRun?: boolean; force?: boolean }) => h.runtime.mirror(tenant, user, o);
  const drift = await findOktaDrift(h.database.db, mirror, h.tenantId);
  t.equal(drift.length, 2, 'both drifted users found');
  const types = drift.flatMap((d) => d.actions.map((x) => x.type)).sort();
  t.same(types, ['activate', 'addToGroup', 'updateProfile'], 'the plan: reactivate bob, rename and re-add alice');
  t.equal((await h.oktaUsers()).get('alice@acme.test')!.profile.firstName, 'Mallory', 'a dry run changes nothing');

  await repairOktaDrift(h.database.db, h.oktaQueue, h.tenantId, drift);
  await h.settleAll();
  const after = await h.oktaUsers();
  t.equal(after.get('alice@acme.test')!.profile.firstName, 'Alice');
  t.equal(after.get('bob@acme.test')!.status, 'ACTIVE');
  t.same(await h.oktaGroupsOf(a.id), ['Engineering (from Acme)']);
  t.same(await findOktaDrift(h.database.db, mirror, h.tenantId), [], 'no drift left');
  t.equal(after.size, 2, 'nothing duplicated');
});

t.test('a user provisioned just in time at login is mirrored too', async (t) => {
  const { ACTION_SECRET, loginBody, postLogin } = await import('../login/harness.js');
  const h = await oktaHarness(t, { env: { PROVISIO_ACTION_SECRET: ACTION_SECRET } });
  const c = h.emulator.connections.enterprise;
  await h.bindOkta({}, { organization: { name: 'acme' }, connections: [{ id: c.id, name: c.name, mode: 'enterprise', assignMembershipOnLogin: true }], login: { jit: 'jit' } });
  await h.settleAll();
  const { buildUser } = await import('../../src/auth0/emulator/user-ops.js');
  const state = h.emulator.emulator.state;
  const connection = state.connections.get(c.id)!;
  const sso = buildUser({ connection, localId: 'joe@acme.test', email: 'joe@acme.test', email_verified: true }, new Date().toISOString());
  sso.logins_count = 1;
  state.users.set(sso.user_id, sso);
  const body = loginBody({ user_id: sso.user_id, email: 'joe@acme.test', email_verified: true, identities: sso.identities.map((i) => ({ provider: i.provider, user_id: String(i.user_id), connection: i.connection })) },
    { id: connection.id, name: connection.name, strategy: connection.strategy });
  const res = await postLogin(h.app, body);
  t.equal(res.status, 200);
  t.equal(res.json.decision, 'allow', 'provisioned just in time');
  await h.settleAll();
  const joe = (await h.oktaUsers()).get('joe@acme.test');
  t.ok(joe, 'the JIT user has its Okta user');
  t.equal(joe?.profile.auth0UserId, sso.user_id, 'linked to the Auth0 user that logged in');
});

t.test('provisio status explains the Okta side; reconcile --sink okta prints the plan and queues the repair', async (t) => {
  const { runCli } = await import('../../src/cli/index.js');
  const h = await oktaHarness(t);
  const alice = await scimUser(h, 'alice@acme.test');
  await scimGroup(h, 'Engineering', [alice], 'grp-eng');
  await h.bindOkta({ groupRules: OKTA_TEST_RULES });
  await h.settleAll();
  const cli = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli(argv, {
      env: { LOG_LEVEL: 'silent' }, out: (s) => { out += `${s}\n`; }, err: (s) => { err += `${s}\n`; },
      server: { database: h.database, queue: h.queue, oktaQueue: h.oktaQueue, okta: h.runtime },
    });
    return { code, out, err };
  };
  const status = await cli('status', 'acme', 'alice@acme.test');
  t.equal(status.code, 0, status.err);
  const oktaId = (await h.oktaUsers()).get('alice@acme.test')!.id;
  t.match(status.out, /okta: present — provisioned into Auth0 and active in the directory/);
  t.match(status.out, /okta group "Engineering \(from Acme\)" — rule eng: directory group "Engineering"/);
  t.match(status.out, new RegExp(`mirrored: mirrored as ${oktaId}`));
  const counts = await cli('status', 'acme', '--json');
  t.same(JSON.parse(counts.out).okta, { mirrored: 1 });

  await h.sdk.userApi.updateUser({ userId: oktaId, user: { profile: { lastName: 'Changed in the console' } } as never });
  const dry = await cli('reconcile', '--sink', 'okta', '--tenant', 'acme', '--dry-run', '--json');
  t.equal(dry.code, 0, dry.err);
  const plan = JSON.parse(dry.out);
  t.equal(plan.sink, 'okta');
  t.same(plan.tenants[0].drift.map((d: { userId: string }) => d.userId), [alice]);
  t.match(plan.tenants[0].drift[0].actions[0], { type: 'updateProfile', reason: /lastName/ });
  const repair = await cli('reconcile', '--sink', 'okta', '--tenant', 'acme');
  t.equal(repair.code, 0, repair.err);
  t.match(repair.out, /1 user\(s\) drifted in Okta[\s\S]*repairs queued; the Okta mirror worker applies them/);
  await h.settleAll();
  t.equal((await h.oktaUsers()).get('alice@acme.test')!.profile.lastName, 'alice');
  const unbound = await cli('reconcile', '--sink', 'nowhere');
  t.equal(unbound.code, 2);
});

t.test('an Okta user that already has the login (made by hand) is adopted, brought in line, never duplicated', async (t) => {
  const h = await oktaHarness(t);
  const handMade = await h.sdk.userApi.createUser({ body: { profile: { login: 'alice@acme.test', email: 'old@acme.test', firstName: 'Old', lastName: 'Name' } } as never, activate: false });
  const alice = await scimUser(h, 'alice@acme.test', { name: { givenName: 'Alice', familyName: 'Liddell' } });
  await scimGroup(h, 'Engineering', [alice], 'grp-eng');
  await h.bindOkta({ groupRules: OKTA_TEST_RULES });
  await h.settleAll();
  const users = await h.oktaUsers();
  t.equal(users.size, 1, 'no second Okta user');
  const a = users.get('alice@acme.test')!;
  t.equal(a.id, handMade.id, 'the hand-made user is the mirror');
  // Activated (it was staged); made by hand without credentials, Okta leaves it PROVISIONED until the person sets a password.
  t.equal(a.status, 'PROVISIONED', 'activated (it was staged)');
  t.match(a.profile, { email: 'alice@acme.test', firstName: 'Alice', lastName: 'Liddell' });
  t.same(await h.oktaGroupsOf(a.id), ['Engineering (from Acme)']);
  const { rows } = await sql<{ last_plan: { type: string }[] }>`select last_plan from okta_mirror where tenant_id = ${h.tenantId} and user_id = ${alice}`.execute(h.database.db);
  t.same(rows[0]!.last_plan.map((p) => p.type), ['adoptUser', 'activate', 'updateProfile', 'addToGroup', 'linkAuth0'], 'the recorded plan says what happened');
  const groupSearches = h.okta.calls.list().filter((c) => c.operation === 'GET /api/v1/groups').length;
  t.equal(groupSearches, 1, 'the named group was looked up once');
});

t.test('a binding signing in as an OAuth service app (private key JWT) mirrors; one missing a scope fails the user with the reason', async (t) => {
  const { generateKeyPairSync } = await import('node:crypto');
  const h = await oktaHarness(t);
  const key = (kid: string) => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { publicJwk: { ...publicKey.export({ format: 'jwk' }), kid }, privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
  };
  const good = key('kid-good');
  const clientId = h.okta.registerServiceApp({ publicJwk: good.publicJwk, scopes: ['okta.users.manage', 'okta.groups.manage'] });
  const alice = await scimUser(h, 'alice@acme.test');
  await scimGroup(h, 'Engineering', [alice], 'grp-eng');
  await h.bindOkta({ auth: { method: 'private-key', clientId, privateKey: good.privatePem, keyId: 'kid-good' }, groupRules: OKTA_TEST_RULES });
  await h.settleAll();
  const a = (await h.oktaUsers()).get('alice@acme.test');
  t.ok(a, 'mirrored through an access token');
  t.same(await h.oktaGroupsOf(a!.id), ['Engineering (from Acme)']);
  const stored = JSON.stringify((await sql<{ binding: unknown }>`select binding from tenant_okta_bindings where tenant_id = ${h.tenantId}`.execute(h.database.db)).rows[0]);
  t.notOk(stored.includes('PRIVATE KEY'), 'the private key is stored sealed');

  // A service app granted users but not groups: the group add is refused (403), the user fails with why.
  const weak = key('kid-weak');
  const weakId = h.okta.registerServiceApp({ publicJwk: weak.publicJwk, scopes: ['okta.users.manage'] });
  // The rule names the Okta group by id: nothing to look up, so the user is created and the group add is refused.
  let engId = '';
  for await (const g of await h.sdk.groupApi.listGroups({ q: 'Engineering (from Acme)' })) if (g?.profile?.name === 'Engineering (from Acme)') engId = g.id!;
  await h.bindOkta({ auth: { method: 'private-key', clientId: weakId, privateKey: weak.privatePem, keyId: 'kid-weak', scopes: ['okta.users.manage'] }, groupRules: [{ id: 'eng', match: { by: 'externalId', value: 'grp-eng' }, oktaGroup: { id: engId } }] });
  const bob = await scimUser(h, 'bob@acme.test');
  await h.scim.json('PATCH', `/Groups/${(await h.scim.json('GET', '/Groups?filter=displayName eq "Engineering"')).body.Resources[0].id}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: bob }] }] });
  await h.settleAll();
  const { rows } = await sql<{ status: string; last_error: string }>`select status, last_error from okta_mirror where tenant_id = ${h.tenantId} and user_id = ${bob}`.execute(h.database.db);
  t.equal(rows[0]?.status, 'failed');
  t.match(rows[0]?.last_error, /403[\s\S]*okta\.groups\.manage/, 'the error names the missing permission or scope');
  const bobOkta = (await h.oktaUsers()).get('bob@acme.test');
  t.ok(bobOkta, 'the creation itself went through');
  t.equal((await mirrorRow(h, bob))?.okta_user_id, bobOkta?.id, 'and is linked although a later step failed: the next run (or an erasure) finds it');
});

t.test('a directory user deleted before it was ever provisioned leaves an Okta user with its login alone', async (t) => {
  const h = await oktaHarness(t);
  // An enterprise connection: users exist in Auth0 only once they log in, so carol is never provisioned.
  const c = h.emulator.connections.enterprise;
  const carol = await scimUser(h, 'carol@acme.test');
  const theirs = await h.sdk.userApi.createUser({ body: { profile: { login: 'carol@acme.test', email: 'carol@acme.test', firstName: 'Carol', lastName: 'Workforce' }, credentials: { password: { value: 'Pa55-word-not-ours!' } } } as never, activate: true });
  await h.bindOkta({ onDelete: 'delete' }, { organization: { name: 'acme' }, connections: [{ id: c.id, name: c.name, mode: 'enterprise' }] });
  await h.settleAll();
  t.equal((await h.scim.request('DELETE', `/Users/${carol}`)).statusCode, 204);
  await h.settleAll();
  const still = (await h.oktaUsers()).get('carol@acme.test');
  t.equal(still?.id, theirs.id);
  t.equal(still?.status, 'ACTIVE', 'not deactivated, not deleted: the mirror never made or linked it');
  t.equal(await mirrorRow(h, carol), undefined, 'nothing kept for a user that was never mirrored');
});

t.test('zero-config: a binding without an org mirrors into the built-in Okta emulator, and okta show says where it is', async (t) => {
  const { runCli } = await import('../../src/cli/index.js');
  const h = await oktaHarness(t);
  await scimUser(h, 'alice@acme.test');
  await h.bindOkta({ orgUrl: undefined, auth: undefined });
  await h.settleAll();
  let out = '';
  const code = await runCli(['okta', 'show', 'acme'], {
    env: { LOG_LEVEL: 'silent' }, out: (s) => { out += `${s}\n`; }, err: (s) => { out += `${s}\n`; },
    server: { database: h.database, queue: h.queue, oktaQueue: h.oktaQueue, okta: h.runtime },
  });
  t.equal(code, 0, out);
  t.match(out, /mirrors into the built-in Okta emulator/);
  const where = /curl -H "Authorization: SSWS ([^"]+)" (http:\/\/127\.0\.0\.1:\d+)\/api\/v1\/users/.exec(out);
  t.ok(where, 'the command to look at it');
  t.not(where?.[2], h.okta.baseUrl, 'the runtime\'s own emulator, not the test\'s');
  const users = await (await fetch(`${where![2]}/api/v1/users`, { headers: { authorization: `SSWS ${where![1]}` } })).json() as { profile: { login: string } }[];
  t.same(users.map((u) => u.profile.login), ['alice@acme.test'], 'alice is there');
});
