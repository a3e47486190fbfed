import t from 'tap';
import { all, checkResponses, oktaError, startOktaHarness } from './harness.js';

const h = await startOktaHarness();
t.teardown(() => h.close());

t.test("a user's groups: Everyone and the groups it was added to, in creation order", async (t) => {
  const user = await h.sdk.userApi.createUser({ body: { profile: { login: 'ada@example.com', email: 'ada@example.com' } } });
  const userId = user.id ?? '';
  t.same((await all(h.sdk.userApi.listUserGroups({ userId }))).map((g) => g?.profile?.name), ['Everyone'], 'a new user is in Everyone');

  const sales = await h.sdk.groupApi.createGroup({ group: { profile: { name: 'Sales' } } });
  const eng = await h.sdk.groupApi.createGroup({ group: { profile: { name: 'Engineering' } } });
  await h.sdk.groupApi.createGroup({ group: { profile: { name: 'Support' } } });
  await h.sdk.groupApi.assignUserToGroup({ groupId: eng.id ?? '', userId });
  await h.sdk.groupApi.assignUserToGroup({ groupId: sales.id ?? '', userId });
  const groups = await all(h.sdk.userApi.listUserGroups({ userId }));
  t.same(groups.map((g) => `${g?.profile?.name}:${g?.type}`), ['Everyone:BUILT_IN', 'Sales:OKTA_GROUP', 'Engineering:OKTA_GROUP']);

  await h.sdk.groupApi.unassignUserFromGroup({ groupId: sales.id ?? '', userId });
  t.same((await all(h.sdk.userApi.listUserGroups({ userId: 'ADA@example.com' }))).map((g) => g?.profile?.name), ['Everyone', 'Engineering'],
    'the user may be named by login');
});

t.test('the list is Link-paged', async (t) => {
  const user = await h.sdk.userApi.createUser({ body: { profile: { login: 'pat@example.com', email: 'pat@example.com' } } });
  for (const name of ['One', 'Two']) {
    const group = await h.sdk.groupApi.createGroup({ group: { profile: { name } } });
    await h.sdk.groupApi.assignUserToGroup({ groupId: group.id ?? '', userId: user.id ?? '' });
  }
  // listUserGroups has no `limit` parameter in the SDK; its HTTP client follows the Link header as the collection does.
  const names: unknown[] = [];
  let next: string | undefined = `${h.emu.baseUrl}/api/v1/users/${user.id}/groups?limit=2`;
  let pages = 0;
  while (next) {
    const response = await h.sdk.http.http(next);
    for (const g of (await response.json()) as { profile: { name: string } }[]) names.push(g.profile.name);
    next = /<([^>]+)>; rel="next"/.exec(response.headers.get('link') ?? '')?.[1];
    pages++;
  }
  t.same(names, ['Everyone', 'One', 'Two']);
  t.equal(pages, 2);
});

t.test('an unknown user is 404 E0000007', async (t) => {
  const missing = await oktaError(all(h.sdk.userApi.listUserGroups({ userId: '00u00000000000000000' })));
  t.equal(missing.status, 404);
  t.equal(missing.errorCode, 'E0000007');
});

t.test('every answer has the documented shape', async (t) => {
  t.ok(checkResponses(t, h) > 10);
});
