import t from 'tap';
import { findDrift, repairDrift } from '../../src/sync/reconcile.js';
import { createRoles, managementClient, scimGroup, scimUser, setActive, syncHarness } from '../helpers/sync.js';

const RULES = {
  rules: [
    { id: 'admins', match: { by: 'externalId', value: 'grp-admins' }, grant: { orgRoles: ['admin'] } },
    { id: 'staff', match: { by: 'displayName', value: 'Staff' }, grant: { orgRoles: ['member'] } },
  ],
};

t.test('drift made behind Provisio\'s back is found exactly, repaired, and then gone', async (t) => {
  const h = await syncHarness(t);
  await createRoles(h.emulator, 'admin', 'member');
  const alice = await scimUser(h, 'alice@acme.test');
  const bob = await scimUser(h, 'bob@acme.test');
  const carol = await scimUser(h, 'carol@acme.test');
  const dave = await scimUser(h, 'dave@acme.test');
  await scimGroup(h, 'Administrators', [alice], 'grp-admins');
  await scimGroup(h, 'Staff', [alice, bob, carol, dave]);
  await h.bind(undefined, RULES);
  await h.settle();
  await setActive(h, carol, false);
  await h.settle();

  const id = (email: string) => h.auth0User(email)!.user_id as string;
  const org = h.org('acme')!;
  t.same(org.members.get(id('alice@acme.test')), ['admin', 'member']);
  t.same(org.members.get(id('bob@acme.test')), ['member']);
  t.equal(h.auth0User('carol@acme.test')!.blocked, true);
  t.same(await findDrift(h.database.db, h.gateway, h.tenantId), [], 'no drift after a settled import');

  // An admin changes Auth0 in the dashboard (the official SDK).
  const sdk = await managementClient(h.emulator);
  const adminRole = h.emulator.emulator.snapshot().roles.find((r) => r.name === 'admin')!.id;
  await sdk.organizations.members.roles.delete(org.id, id('alice@acme.test'), { roles: [adminRole] });
  await sdk.organizations.members.delete(org.id, { members: [id('bob@acme.test')] });
  await sdk.users.update(id('carol@acme.test'), { blocked: false });
  t.same(h.org('acme')!.members.get(id('alice@acme.test')), ['member'], 'drift made: alice lost admin');
  t.notOk(h.org('acme')!.members.has(id('bob@acme.test')), 'drift made: bob left the org');
  t.equal(h.auth0User('carol@acme.test')!.blocked, false, 'drift made: carol unblocked');

  const drift = await findDrift(h.database.db, h.gateway, h.tenantId);
  const byUser = new Map(drift.map((d) => [d.userId, d.actions]));
  t.same([...byUser.keys()].sort(), [alice, bob, carol].sort(), 'exactly the three drifted users (dave untouched)');
  t.match(byUser.get(alice), [{ type: 'addOrgRoles', roles: ['admin'] }]);
  t.equal(byUser.get(alice)!.length, 1, 'alice: only the missing role');
  t.match(byUser.get(bob), [{ type: 'addMembership', org: { name: 'acme' } }, { type: 'addOrgRoles', roles: ['member'] }]);
  t.equal(byUser.get(bob)!.length, 2, 'bob: membership and its role');
  const carolActions = byUser.get(carol)!;
  t.match(carolActions[0], { type: 'updateUser', patch: { blocked: true } }, 'carol: blocked again');
  t.same(carolActions.map((a) => a.type), ['updateUser', 'revokeSessions'], 'carol: block and revoke, nothing else');
  t.notOk(byUser.has(dave));
  t.same(h.org('acme')!.members.get(id('alice@acme.test')), ['member'], 'findDrift changed nothing');

  await repairDrift(h.database.db, h.queue, h.tenantId, drift);
  await h.settle();
  const repaired = h.org('acme')!;
  t.same(repaired.members.get(id('alice@acme.test')), ['admin', 'member'], 'alice has admin again');
  t.same(repaired.members.get(id('bob@acme.test')), ['member'], 'bob is a member again, with his role');
  t.equal(h.auth0User('carol@acme.test')!.blocked, true, 'carol blocked again');
  t.same(repaired.members.get(id('dave@acme.test')), ['member'], 'dave unchanged');
  t.same(await findDrift(h.database.db, h.gateway, h.tenantId), [], 'no drift left');
  t.equal(h.emulator.emulator.snapshot().users.length, 4, 'no user created by the repair');
  t.equal(h.worker.counts.failed, 0);
});
