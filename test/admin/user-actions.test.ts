import t, { type Test } from 'tap';
import { sql } from 'kysely';
import { applyUserAction, eraseUser, UserActionError } from '../../src/admin/user-actions.js';
import { overridesOf } from '../../src/db/overrides.js';
import { DENY } from '../../src/login/decision.js';
import { queueDirectoryEvents } from '../../src/sync/events.js';
import { findDrift } from '../../src/sync/reconcile.js';
import { loginBody, loginHarness, postLogin } from '../login/harness.js';
import { createRoles, managementClient, PATCH_OP, scimGroup, scimUser, setActive, syncHarness, userSyncRow, type SyncHarness } from '../helpers/sync.js';

const ADMIN = 'token:org-admin-1';

const RULES = {
  rules: [
    { id: 'admins', match: { by: 'externalId', value: 'grp-admins' }, grant: { orgRoles: ['admin'], tenantRoles: ['reader'] } },
    { id: 'staff', match: { by: 'displayName', value: 'Staff' }, grant: { orgRoles: ['member'] } },
  ],
};

/** A bound tenant with alice (Admins) and bob (Staff) imported into Auth0. */
async function imported(t: Test) {
  const h = await syncHarness(t);
  await createRoles(h.emulator, 'admin', 'member', 'reader');
  const alice = await scimUser(h, 'alice@acme.test');
  const bob = await scimUser(h, 'bob@acme.test');
  const admins = await scimGroup(h, 'Administrators', [alice], 'grp-admins');
  const staff = await scimGroup(h, 'Staff', [bob]);
  await h.bind(undefined, RULES);
  await h.settle();
  const events = queueDirectoryEvents(h.queue);
  return { h, events, alice, bob, admins, staff };
}

function auth0Id(h: SyncHarness, email: string): string {
  const id = h.auth0User(email)?.user_id;
  if (typeof id !== 'string') throw new Error(`${email} is not in Auth0`);
  return id;
}

/** Names of the Auth0 user's tenant roles. */
function tenantRoles(h: SyncHarness, email: string): string[] {
  const state = h.emulator.emulator.snapshot();
  const names = new Map(state.roles.map((r) => [r.id, r.name]));
  const user = state.users.find((u) => u.email === email);
  return (user?.roles ?? []).map((id) => names.get(id) ?? id).sort();
}

async function overrideRows(h: SyncHarness): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from user_admin_overrides where tenant_id = ${h.tenantId}`.execute(h.database.db);
  return Number(rows[0]?.n ?? 0);
}

async function rejection(t: Test, promise: Promise<unknown>, status: 404 | 409, name: string): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof UserActionError, `${name}: a UserActionError`);
  t.equal((err as UserActionError).status, status, `${name}: ${status}`);
}

t.test('block: Auth0 user blocked and sessions revoked; IdP changes do not undo it; unblock gives back what the directory says', async (t) => {
  const { h, events, alice } = await imported(t);
  const id = auth0Id(h, 'alice@acme.test');
  h.emulator.emulator.addSession(id);

  const blocked = await applyUserAction(h.database.db, events, h.tenantId, alice, 'block', ADMIN, 'left the project');
  t.same(blocked, { override: { blocked: true, removedFromOrg: false }, queued: true });
  await h.settle();
  const user = h.emulator.emulator.state.users.get(id)!;
  t.equal(user.blocked, true, 'blocked in Auth0');
  t.same(user.sessions, [], 'sessions revoked');
  t.same(user.refresh_tokens, [], 'refresh tokens revoked');
  t.same(h.org('acme')!.members.get(id), ['admin'], 'membership and org roles kept');
  const stored = (await overridesOf(h.database.db, h.tenantId, [alice])).get(alice);
  t.match(stored, { blocked: true, removedFromOrg: false, erase: false, actor: ADMIN, reason: 'left the project' });

  const patched = await h.scim.json('PATCH', `/Users/${alice}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Alice L.' }, { op: 'replace', path: 'active', value: true }] });
  t.equal(patched.status, 200);
  await h.settle();
  t.equal(h.auth0User('alice@acme.test')!.blocked, true, 'an IdP PATCH (even active:true) does not unblock');

  t.same(await applyUserAction(h.database.db, events, h.tenantId, alice, 'block', ADMIN), { override: { blocked: true, removedFromOrg: false }, queued: false }, 'blocking twice is a no-op');

  t.same(await applyUserAction(h.database.db, events, h.tenantId, alice, 'unblock', ADMIN), { override: { blocked: false, removedFromOrg: false }, queued: true });
  await h.settle();
  t.equal(h.auth0User('alice@acme.test')!.blocked, false, 'unblocked');
  t.equal(await overrideRows(h), 0, 'an override with no flag left is deleted');

  // The IdP deactivates her; an admin block and unblock in between leaves the IdP's block in place.
  await setActive(h, alice, false);
  await h.settle();
  await applyUserAction(h.database.db, events, h.tenantId, alice, 'block', ADMIN);
  await h.settle();
  await applyUserAction(h.database.db, events, h.tenantId, alice, 'unblock', ADMIN);
  await h.settle();
  t.equal(h.auth0User('alice@acme.test')!.blocked, true, 'unblock keeps the block the directory asks for (active:false)');
  await setActive(h, alice, true);
  await h.settle();
  t.equal(h.auth0User('alice@acme.test')!.blocked, false, 'reactivated by the IdP once no admin block is left');
  t.equal((await userSyncRow(h, alice))?.status, 'synced');
  t.equal(h.worker.counts.failed, 0, 'no failed job');
});

t.test('remove-from-org: membership, org and tenant roles gone and kept gone through IdP group changes; add-to-org restores them', async (t) => {
  const { h, events, alice, staff } = await imported(t);
  const id = auth0Id(h, 'alice@acme.test');
  t.same(tenantRoles(h, 'alice@acme.test'), ['reader']);

  t.same(await applyUserAction(h.database.db, events, h.tenantId, alice, 'remove-from-org', ADMIN), { override: { blocked: false, removedFromOrg: true }, queued: true });
  await h.settle();
  t.notOk(h.org('acme')!.members.has(id), 'no longer a member');
  t.same(tenantRoles(h, 'alice@acme.test'), [], 'tenant roles granted by this tenant removed');
  t.ok(h.auth0User('alice@acme.test'), 'the Auth0 user stays');
  t.not(h.auth0User('alice@acme.test')!.blocked, true, 'not blocked');

  const added = await h.scim.json('PATCH', `/Groups/${staff}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: alice }] }] });
  t.equal(added.status < 300, true, 'the IdP adds her to Staff');
  await h.settle();
  t.notOk(h.org('acme')!.members.has(id), 'still not a member after the group change');

  t.same(await applyUserAction(h.database.db, events, h.tenantId, alice, 'block', ADMIN), { override: { blocked: true, removedFromOrg: true }, queued: true }, 'block keeps the removal');
  t.same(await applyUserAction(h.database.db, events, h.tenantId, alice, 'unblock', ADMIN), { override: { blocked: false, removedFromOrg: true }, queued: true });
  t.same(await applyUserAction(h.database.db, events, h.tenantId, alice, 'add-to-org', ADMIN), { override: { blocked: false, removedFromOrg: false }, queued: true });
  await h.settle();
  t.same(h.org('acme')!.members.get(id), ['admin', 'member'], 'member again with the roles of both groups');
  t.same(tenantRoles(h, 'alice@acme.test'), ['reader']);
  t.not(h.auth0User('alice@acme.test')!.blocked, true);
  t.same(await applyUserAction(h.database.db, events, h.tenantId, alice, 'add-to-org', ADMIN), { override: { blocked: false, removedFromOrg: false }, queued: false }, 'add-to-org without an override is a no-op');
  t.equal(await overrideRows(h), 0);
  t.equal(h.worker.counts.failed, 0);
});

/** Every stored row of the tenant's sync, override and directory tables, as text. */
async function storedText(h: SyncHarness): Promise<string> {
  const { rows } = await sql<{ doc: string }>`
    select to_jsonb(s)::text as doc from user_sync s where s.tenant_id = ${h.tenantId}
    union all select to_jsonb(o)::text from user_admin_overrides o where o.tenant_id = ${h.tenantId}
    union all select to_jsonb(u)::text from users u where u.tenant_id = ${h.tenantId}
    union all select to_jsonb(g)::text from groups g where g.tenant_id = ${h.tenantId}`.execute(h.database.db);
  return rows.map((r) => r.doc).join('\n');
}

t.test('erase: Auth0 user deleted whatever the policy, SCIM 404, and no personal datum of the user left', async (t) => {
  const { h, events, alice, bob, admins } = await imported(t);
  const carol = await scimUser(h, 'carol@acme.test', { externalId: 'carol-ext-77' });
  await scimGroup(h, 'Contractors', [carol, bob]);
  await h.settle();
  const carolAuth0 = auth0Id(h, 'carol@acme.test');
  t.match(await storedText(h), /carol@acme\.test/, 'the probe sees carol before the erasure');

  t.same(await eraseUser(h.database.db, events, h.tenantId, carol, ADMIN), { queued: true });
  t.equal((await h.scim.json('GET', `/Users/${carol}`)).status, 404, 'SCIM GET 404 at once');
  const list = await h.scim.json('GET', '/Users');
  t.equal(list.body.totalResults, 2, 'the resource count follows the deletion');
  const contractors = await h.scim.json('GET', `/Groups?filter=displayName eq "Contractors"`);
  t.same(contractors.body.Resources[0].members.map((m: { value: string }) => m.value), [bob], 'her group memberships are gone');
  await h.settle();

  t.equal(h.emulator.emulator.state.users.get(carolAuth0), undefined, 'Auth0 user deleted although the policy is block');
  t.ok(h.auth0User('bob@acme.test'), 'bob untouched');
  const text = await storedText(h);
  t.notMatch(text, /carol/i, 'no userName, email or externalId of carol in users, user_sync or user_admin_overrides');
  t.notMatch(text, new RegExp(carol), 'no row keyed by her id either');
  t.notMatch(text, new RegExp(carolAuth0.replace(/[|]/g, '\\|')), 'nor her Auth0 user id');
  await rejection(t, eraseUser(h.database.db, events, h.tenantId, carol, ADMIN), 404, 'erasing again');

  // A user the IdP deleted first (policy block: blocked, tombstone kept) can be erased too.
  const aliceAuth0 = auth0Id(h, 'alice@acme.test');
  t.equal((await h.scim.request('DELETE', `/Users/${alice}`)).statusCode, 204);
  await h.settle();
  t.equal(h.auth0User('alice@acme.test')!.blocked, true, 'IdP delete with policy block');
  await rejection(t, applyUserAction(h.database.db, events, h.tenantId, alice, 'unblock', ADMIN), 409, 'admin actions on an IdP-deleted user');
  t.same(await eraseUser(h.database.db, events, h.tenantId, alice, ADMIN), { queued: true });
  await h.settle();
  t.equal(h.emulator.emulator.state.users.get(aliceAuth0), undefined, 'tombstoned user deleted from Auth0');
  t.notMatch(await storedText(h), /alice/i, 'her tombstone is gone');
  t.same((await h.scim.json('GET', `/Groups/${admins}`)).body.members ?? [], [], 'Administrators has no member left');
  t.equal(h.worker.counts.failed, 0);
});

t.test('unknown or malformed ids are 404; unblock of a user no admin touched is a no-op; an erasure without a queue stays pending', async (t) => {
  const { h, events, bob } = await imported(t);
  await rejection(t, applyUserAction(h.database.db, events, h.tenantId, '0190c3b4-1d2e-7f00-8000-000000000000', 'block', ADMIN), 404, 'unknown uuid');
  await rejection(t, applyUserAction(h.database.db, events, h.tenantId, 'not-a-uuid', 'block', ADMIN), 404, 'not a uuid');
  await rejection(t, eraseUser(h.database.db, events, h.tenantId, "x' or 1=1 --", ADMIN), 404, 'erase, not a uuid');
  await rejection(t, eraseUser(h.database.db, events, h.tenantId, '0190c3b4-1d2e-7f00-8000-000000000000', ADMIN), 404, 'erase, unknown uuid');
  const other = await h.scim.json('GET', '/Users');
  t.equal(other.body.totalResults, 2, 'nothing deleted');
  t.same(await applyUserAction(h.database.db, events, h.tenantId, bob, 'unblock', ADMIN), { override: { blocked: false, removedFromOrg: false }, queued: false });
  t.equal(await overrideRows(h), 0, 'no row written');

  // Bound tenant, but the caller has no queue: the erasure is kept pending, never forgotten half-done.
  const bobAuth0 = auth0Id(h, 'bob@acme.test');
  t.same(await eraseUser(h.database.db, undefined, h.tenantId, bob, ADMIN), { queued: false });
  t.equal((await h.scim.json('GET', `/Users/${bob}`)).status, 404);
  t.equal((await userSyncRow(h, bob))?.status, 'pending', 'left pending for the sync');
  t.ok(h.emulator.emulator.state.users.get(bobAuth0), 'Auth0 user still there');
  await h.queue.enqueue(h.database.db, h.tenantId, [bob]);
  await h.settle();
  t.equal(h.emulator.emulator.state.users.get(bobAuth0), undefined, 'the next sync of the user completes the erasure');
  t.equal(await userSyncRow(h, bob), undefined, 'and forgets it');
});

t.test('unbound tenant: overrides are recorded and honoured once bound; erase removes the directory rows at once', async (t) => {
  const h = await syncHarness(t);
  const alice = await scimUser(h, 'alice@acme.test');
  const bob = await scimUser(h, 'bob@acme.test');
  const carol = await scimUser(h, 'carol@acme.test');
  const group = await scimGroup(h, 'Staff', [alice, bob, carol]);
  const events = queueDirectoryEvents(h.queue);

  t.same(await applyUserAction(h.database.db, events, h.tenantId, alice, 'block', ADMIN), { override: { blocked: true, removedFromOrg: false }, queued: false }, 'not bound: not queued');
  t.same(await applyUserAction(h.database.db, undefined, h.tenantId, bob, 'remove-from-org', ADMIN), { override: { blocked: false, removedFromOrg: true }, queued: false }, 'no events: not queued');
  t.same([...(await overridesOf(h.database.db, h.tenantId, [alice, bob, carol])).keys()].sort(), [alice, bob].sort(), 'both recorded');

  t.same(await eraseUser(h.database.db, events, h.tenantId, carol, ADMIN), { queued: false });
  t.equal((await h.scim.json('GET', `/Users/${carol}`)).status, 404);
  t.equal((await h.scim.json('GET', '/Users')).body.totalResults, 2);
  t.same((await h.scim.json('GET', `/Groups/${group}`)).body.members.map((m: { value: string }) => m.value).sort(), [alice, bob].sort());
  t.notMatch(await storedText(h), /carol/i, 'nothing of carol is left');

  await h.bind();
  await h.settle();
  t.equal(h.auth0User('alice@acme.test'), undefined, 'an admin-blocked user is not created on binding');
  t.equal(h.auth0User('bob@acme.test'), undefined, 'a removed one (no membership) is not created either');
  await applyUserAction(h.database.db, events, h.tenantId, alice, 'unblock', ADMIN);
  await h.settle();
  t.same([...h.org('acme')!.members.keys()], [auth0Id(h, 'alice@acme.test')], 'alice created and a member once unblocked');
  t.equal(h.worker.counts.failed, 0);
});

t.test('reconcile: an applied override is not drift; undoing it in the Auth0 dashboard is', async (t) => {
  const { h, events, alice, bob } = await imported(t);
  await applyUserAction(h.database.db, events, h.tenantId, alice, 'block', ADMIN);
  await applyUserAction(h.database.db, events, h.tenantId, bob, 'remove-from-org', ADMIN);
  await h.settle();
  t.same(await findDrift(h.database.db, h.gateway, h.tenantId), [], 'no drift');

  const sdk = await managementClient(h.emulator);
  await sdk.users.update(auth0Id(h, 'alice@acme.test'), { blocked: false });
  const drift = await findDrift(h.database.db, h.gateway, h.tenantId);
  t.same(drift.map((d) => d.userId), [alice], 'only alice drifted');
  t.match(drift[0]?.actions, [{ type: 'updateUser', patch: { blocked: true } }, { type: 'revokeSessions' }], 'the admin block is the desired state');
});

t.test('login: an admin-blocked, removed or erased user is denied, whether or not the sync has applied it yet', async (t) => {
  const h = await loginHarness(t);
  await createRoles(h.emulator, 'member');
  const acme = await h.tenant('acme');
  const [alice, bob, carol, dave] = [
    await scimUser(acme, 'alice@acme.test'), await scimUser(acme, 'bob@acme.test'),
    await scimUser(acme, 'carol@acme.test'), await scimUser(acme, 'dave@acme.test'),
  ];
  const conn = h.emulator.connections.database;
  await acme.bind({ organization: { name: 'acme' }, connections: [{ id: conn.id, name: conn.name, mode: 'database' }] }, { defaultGrant: { orgRoles: ['member'] } });
  await h.settle();
  const org = h.org('acme')!;
  const userOf = (email: string) => {
    const u = h.auth0User(email) as { user_id: string; identities: { provider: string; user_id: string; connection: string }[] } | undefined;
    if (!u) throw new Error(`${email} is not in Auth0`);
    return u;
  };
  const login = async (email: string) => (await postLogin(h.app, loginBody({ ...userOf(email), email, email_verified: true }, h.connection('database'), { id: org.id, name: 'acme' }))).json;
  for (const email of ['alice@acme.test', 'bob@acme.test', 'carol@acme.test']) t.equal((await login(email)).decision, 'allow', `${email} allowed before`);

  // Recorded without a queued sync: the applied state still says "member, unblocked", the hot path must not answer from it.
  t.same(await applyUserAction(h.database.db, undefined, acme.id, alice, 'block', ADMIN), { override: { blocked: true, removedFromOrg: false }, queued: false });
  t.equal((await h.syncRow(acme.id, alice))?.status, 'synced', 'no sync queued by the action');
  t.same(await login('alice@acme.test'), { decision: 'deny', reason: DENY.deactivated }, 'denied before any sync');

  t.equal((await applyUserAction(h.database.db, h.events, acme.id, bob, 'block', ADMIN)).queued, true);
  t.same(await applyUserAction(h.database.db, h.events, acme.id, carol, 'remove-from-org', ADMIN), { override: { blocked: false, removedFromOrg: true }, queued: true });
  await h.settle();
  t.equal(h.auth0User('alice@acme.test')!.blocked, true, 'the denied login queued the block the action did not');
  t.equal(h.auth0User('bob@acme.test')!.blocked, true, 'bob blocked by the sync');
  t.same(await login('bob@acme.test'), { decision: 'deny', reason: DENY.deactivated }, 'bob denied after the sync');
  t.notOk(h.org('acme')!.members.has(userOf('carol@acme.test').user_id), 'carol removed by the sync');
  h.autoMember('acme', userOf('carol@acme.test').user_id);
  t.same(await login('carol@acme.test'), { decision: 'deny', reason: DENY.notAssigned('acme') }, 'carol denied: not assigned any more');
  t.notOk(h.org('acme')!.members.has(userOf('carol@acme.test').user_id), 'the membership Auto-Membership granted is removed again');

  // An erasure still queued (worker stopped): the login is denied from the tombstone.
  await h.worker.stop();
  const daveUser = userOf('dave@acme.test');
  t.same(await eraseUser(h.database.db, h.events, acme.id, dave, ADMIN), { queued: true });
  const res = await postLogin(h.app, loginBody({ ...daveUser, email: 'dave@acme.test', email_verified: true }, h.connection('database'), { id: org.id, name: 'acme' }));
  t.same(res.json, { decision: 'deny', reason: DENY.deactivated }, 'erased user denied before the deletion ran');
});
