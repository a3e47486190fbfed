import t from 'tap';
import { all, checkResponses, oktaError, startOktaHarness } from './harness.js';

const h = await startOktaHarness();
t.teardown(() => h.close());

t.test('create, find by q and search, add and remove members, list members', async (t) => {
  const eng = await h.sdk.groupApi.createGroup({ group: { profile: { name: 'Engineering', description: 'Builders' } } });
  t.match(eng.id, /^00g[A-Za-z0-9]{17}$/);
  t.equal(eng.type, 'OKTA_GROUP');
  await h.sdk.groupApi.createGroup({ group: { profile: { name: 'Sales' } } });

  const dup = await oktaError(h.sdk.groupApi.createGroup({ group: { profile: { name: 'engineering' } } }));
  t.equal(dup.errorCode, 'E0000001');
  t.same(dup.errorCauses, [{ errorSummary: 'name: An object with this field already exists in the current organization' }]);

  t.same((await all(h.sdk.groupApi.listGroups({ q: 'eng' }))).map((g) => g?.id), [eng.id]);
  t.same((await all(h.sdk.groupApi.listGroups({ search: 'profile.name eq "Sales"' }))).map((g) => g?.profile?.name), ['Sales']);

  const ids: string[] = [];
  for (const n of [1, 2, 3]) {
    const u = await h.sdk.userApi.createUser({ body: { profile: { login: `m${n}@example.com`, email: `m${n}@example.com` } } });
    ids.push(u.id ?? '');
    await h.sdk.groupApi.assignUserToGroup({ groupId: eng.id ?? '', userId: u.id ?? '' });
  }
  await h.sdk.groupApi.assignUserToGroup({ groupId: eng.id ?? '', userId: ids[0] ?? '' });
  t.same((await all(h.sdk.groupApi.listGroupUsers({ groupId: eng.id ?? '', limit: 2 }))).map((u) => u?.id), ids, 'paged, adding twice is harmless');

  await h.sdk.groupApi.unassignUserFromGroup({ groupId: eng.id ?? '', userId: ids[1] ?? '' });
  t.same((await all(h.sdk.groupApi.listGroupUsers({ groupId: eng.id ?? '' }))).map((u) => u?.id), [ids[0], ids[2]]);

  const noGroup = await oktaError(h.sdk.groupApi.assignUserToGroup({ groupId: '00g00000000000000000', userId: ids[0] ?? '' }));
  t.equal(noGroup.status, 404);
  t.equal(noGroup.errorSummary, 'Not found: Resource not found: 00g00000000000000000 (UserGroup)');
});

t.test('every answer has the documented shape', async (t) => {
  t.ok(checkResponses(t, h) > 5);
});
