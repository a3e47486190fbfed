import t from 'tap';
import { all, checkResponses, oktaError, startOktaHarness } from './harness.js';

const h = await startOktaHarness();
t.teardown(() => h.close());

async function everyoneId(): Promise<string> {
  const [everyone] = await all(h.sdk.groupApi.listGroups({ search: 'type eq "BUILT_IN"' }));
  return everyone?.id ?? '';
}

async function memberIds(groupId: string): Promise<(string | undefined)[]> {
  return (await all(h.sdk.groupApi.listGroupUsers({ groupId }))).map((u) => u?.id);
}

t.test('a new org has the built-in Everyone group, listed first', async (t) => {
  const groups = await all(h.sdk.groupApi.listGroups());
  t.same(groups.map((g) => [g?.profile?.name, g?.type]), [['Everyone', 'BUILT_IN']]);
  await h.sdk.groupApi.createGroup({ group: { profile: { name: 'Engineering' } } });
  const names = (await all(h.sdk.groupApi.listGroups())).map((g) => `${g?.profile?.name}:${g?.type}`);
  t.same(names, ['Everyone:BUILT_IN', 'Engineering:OKTA_GROUP']);
  const taken = await oktaError(h.sdk.groupApi.createGroup({ group: { profile: { name: 'everyone' } } }));
  t.equal(taken.errorCode, 'E0000001', 'its name is taken like any other');
});

t.test('every user is a member of Everyone, from creation until deletion', async (t) => {
  const id = await everyoneId();
  const ada = await h.sdk.userApi.createUser({ body: { profile: { login: 'ada@example.com', email: 'ada@example.com' } }, activate: false });
  const bob = await h.sdk.userApi.createUser({ body: { profile: { login: 'bob@example.com', email: 'bob@example.com' } } });
  t.same(await memberIds(id), [ada.id, bob.id], 'staged and provisioned users alike');

  await h.sdk.userApi.deleteUser({ userId: ada.id ?? '' });
  t.same(await memberIds(id), [ada.id, bob.id], 'a deactivated user is still a member');
  await h.sdk.userApi.deleteUser({ userId: ada.id ?? '' });
  t.same(await memberIds(id), [bob.id], 'a deleted user is not');
});

t.test('Everyone cannot be deleted, nor its membership changed', async (t) => {
  const id = await everyoneId();
  const user = await h.sdk.userApi.createUser({ body: { profile: { login: 'cy@example.com', email: 'cy@example.com' } } });
  const userId = user.id ?? '';

  const deleted = await oktaError(h.sdk.groupApi.deleteGroup({ groupId: id }));
  t.equal(deleted.status, 403);
  t.equal(deleted.errorCode, 'E0000006');
  t.equal(deleted.errorSummary, 'You do not have permission to perform the requested action');
  t.equal((await h.sdk.groupApi.getGroup({ groupId: id })).type, 'BUILT_IN', 'still there');

  const added = await oktaError(h.sdk.groupApi.assignUserToGroup({ groupId: id, userId }));
  t.equal(added.status, 400);
  t.equal(added.errorCode, 'E0000060');
  t.equal(added.errorSummary, 'Unsupported operation.');

  const removed = await oktaError(h.sdk.groupApi.unassignUserFromGroup({ groupId: id, userId }));
  t.equal(removed.status, 403);
  t.equal(removed.errorCode, 'E0000006');
  t.ok((await memberIds(id)).includes(userId), 'the user is still a member');
});

t.test('resetting the org keeps Everyone, with the same id and no members', async (t) => {
  const id = await everyoneId();
  h.emu.reset();
  const groups = await all(h.sdk.groupApi.listGroups());
  t.same(groups.map((g) => g?.id), [id]);
  t.same(await memberIds(id), []);
  const user = await h.sdk.userApi.createUser({ body: { profile: { login: 'dee@example.com', email: 'dee@example.com' } } });
  t.same(await memberIds(id), [user.id]);
});

t.test('every answer has the documented shape', async (t) => {
  t.ok(checkResponses(t, h) > 10);
});
