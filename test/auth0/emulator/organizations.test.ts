import t from 'tap';
import { checkResponses, managementError as error, startHarness } from './harness.js';

const h = await startHarness();
t.teardown(() => h.close());
const db = h.emu.connections.database;
const password = 'Sup3r-secret!';

async function users(n: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await h.mgmt.users.create({ connection: db.name, email: `${prefix}${i}@example.com`, password })).user_id ?? '');
  return ids;
}

t.test('create, get, by name, update, delete', async (t) => {
  const org = await h.mgmt.organizations.create({
    name: 'acme', display_name: 'Acme', metadata: { tier: 'gold', region: 'eu' },
    enabled_connections: [{ connection_id: db.id, assign_membership_on_login: false }],
  });
  t.match(org.id, /^org_[A-Za-z0-9]{16}$/);
  t.equal(org.enabled_connections?.length, 1);
  const id = org.id ?? '';
  t.equal((await h.mgmt.organizations.get(id)).name, 'acme');
  t.equal((await h.mgmt.organizations.getByName('acme')).id, id);
  const dup = await error(h.mgmt.organizations.create({ name: 'acme' }));
  t.equal(dup.statusCode, 409);
  const badName = await error(h.mgmt.organizations.create({ name: 'Not Valid!' }));
  t.equal(badName.statusCode, 400, 'org names are lowercase letters, digits, _ and -');

  const updated = await h.mgmt.organizations.update(id, { display_name: 'Acme Inc', metadata: { region: null as unknown as string, plan: 'b2b' } });
  t.equal(updated.display_name, 'Acme Inc');
  t.same(updated.metadata, { tier: 'gold', plan: 'b2b' });

  await h.mgmt.organizations.delete(id);
  t.equal((await error(h.mgmt.organizations.get(id))).statusCode, 404);
  t.equal((await error(h.mgmt.organizations.getByName('acme'))).statusCode, 404);
  t.equal((await error(h.mgmt.organizations.delete(id))).statusCode, 404);
});

t.test('enabled connections', async (t) => {
  const org = await h.mgmt.organizations.create({ name: 'conns' });
  const id = org.id ?? '';
  const added = await h.mgmt.organizations.enabledConnections.add(id, { connection_id: h.emu.connections.enterprise.id, assign_membership_on_login: true });
  t.match(added, { connection_id: h.emu.connections.enterprise.id, assign_membership_on_login: true, show_as_button: true, connection: { name: 'acme-saml', strategy: 'samlp' } });
  t.equal((await error(h.mgmt.organizations.enabledConnections.add(id, { connection_id: h.emu.connections.enterprise.id }))).statusCode, 409);
  const list = await h.mgmt.organizations.enabledConnections.list(id);
  t.equal(list.data.length, 1);
  const got = await h.mgmt.organizations.enabledConnections.get(id, h.emu.connections.enterprise.id);
  t.equal(got.assign_membership_on_login, true);
  const patched = await h.mgmt.organizations.enabledConnections.update(id, h.emu.connections.enterprise.id, { assign_membership_on_login: false });
  t.equal(patched.assign_membership_on_login, false);
  await h.mgmt.organizations.enabledConnections.delete(id, h.emu.connections.enterprise.id);
  t.same((await h.mgmt.organizations.enabledConnections.list(id)).data, []);
});

t.test('members: at most 10 per request; offset and checkpoint paging', async (t) => {
  const org = await h.mgmt.organizations.create({ name: 'members' });
  const id = org.id ?? '';
  const ids = await users(25, 'member');
  const eleven = await error(h.mgmt.organizations.members.create(id, { members: ids.slice(0, 11) }));
  t.equal(eleven.statusCode, 400, '11 members in one request is refused');
  t.match(eleven.body, { errorCode: 'invalid_body' });
  for (let i = 0; i < ids.length; i += 10) await h.mgmt.organizations.members.create(id, { members: ids.slice(i, i + 10) });
  await h.mgmt.organizations.members.create(id, { members: [ids[0] ?? ''] });
  t.pass('adding an existing member again is accepted');
  const missing = await error(h.mgmt.organizations.members.create(id, { members: ['auth0|doesnotexist'] }));
  t.equal(missing.statusCode, 400, 'members must already exist');

  const checkpoint: string[] = [];
  const page = await h.mgmt.organizations.members.list(id, { take: 10 });
  t.equal(page.data.length, 10);
  t.ok(page.hasNextPage(), 'checkpoint response has next');
  for await (const m of await h.mgmt.organizations.members.list(id, { take: 10 })) checkpoint.push(m.user_id ?? '');
  t.same([...checkpoint].sort(), [...ids].sort(), 'checkpoint paging visits every member once');

  const token = await h.token();
  const offset = await h.request('GET', `/api/v2/organizations/${id}/members?page=2&per_page=10&include_totals=true`, { token });
  t.match(offset.body, { start: 20, limit: 10, total: 25 });
  t.equal((offset.body as { members: unknown[] }).members.length, 5);

  await h.mgmt.organizations.members.delete(id, { members: ids.slice(0, 5) });
  const after = await h.request('GET', `/api/v2/organizations/${id}/members?per_page=100`, { token });
  t.equal((after.body as unknown[]).length, 20);
});

t.test('member roles: assign, list, delete, at most 50', async (t) => {
  const org = await h.mgmt.organizations.create({ name: 'member-roles' });
  const id = org.id ?? '';
  const [userId = ''] = await users(1, 'mr');
  await h.mgmt.organizations.members.create(id, { members: [userId] });
  const roles: string[] = [];
  for (let i = 0; i < 51; i++) roles.push((await h.mgmt.roles.create({ name: `org-role-${i}` })).id ?? '');
  await h.mgmt.organizations.members.roles.assign(id, userId, { roles: roles.slice(0, 50) });
  const list = await h.mgmt.organizations.members.roles.list(id, userId, { per_page: 100 });
  t.equal(list.data.length, 50);
  const over = await error(h.mgmt.organizations.members.roles.assign(id, userId, { roles: [roles[50] ?? ''] }));
  t.equal(over.statusCode, 409);
  t.match(over.body, { message: 'No more roles can be assigned to this organization member' });
  await h.mgmt.organizations.members.roles.delete(id, userId, { roles: roles.slice(0, 49) });
  t.same((await h.mgmt.organizations.members.roles.list(id, userId)).data.map((r) => r.id), [roles[49]]);

  const withRoles = await h.mgmt.organizations.members.list(id, { fields: 'user_id,roles' });
  t.match(withRoles.data[0], { user_id: userId, roles: [{ id: roles[49] }] });
  const narrow = h.emu.emulator.createClient({ scopes: ['read:organization_members'] });
  const limited = h.client({ ...narrow, maxRetries: 0 });
  t.equal((await error(limited.organizations.members.list(id, { fields: 'user_id,roles' }))).statusCode, 403, 'fields=roles needs read:organization_member_roles');
});

t.test('member list is eventually consistent when a delay is set', async (t) => {
  let now = Date.now();
  h.emu.emulator.setClock(() => now);
  t.teardown(() => h.emu.emulator.setClock(Date.now));
  h.emu.emulator.setMemberListDelay(5000);
  t.teardown(() => h.emu.emulator.setMemberListDelay(0));
  const org = await h.mgmt.organizations.create({ name: 'eventual' });
  const id = org.id ?? '';
  const [a = '', b = ''] = await users(2, 'eventual');
  await h.mgmt.organizations.members.create(id, { members: [a] });
  t.same((await h.mgmt.organizations.members.list(id)).data, [], 'a new member is not listed yet');
  now += 5000;
  t.same((await h.mgmt.organizations.members.list(id)).data.map((m) => m.user_id), [a]);
  await h.mgmt.organizations.members.create(id, { members: [b] });
  await h.mgmt.organizations.members.delete(id, { members: [a] });
  t.same((await h.mgmt.organizations.members.list(id)).data.map((m) => m.user_id), [a], 'a removed member is still listed');
  now += 5000;
  t.same((await h.mgmt.organizations.members.list(id)).data.map((m) => m.user_id), [b]);
});

t.test('invitations', async (t) => {
  const org = await h.mgmt.organizations.create({ name: 'invites' });
  const id = org.id ?? '';
  const role = await h.mgmt.roles.create({ name: 'invitee-role' });
  const inv = await h.mgmt.organizations.invitations.create(id, {
    inviter: { name: 'Admin' }, invitee: { email: 'new@example.com' }, client_id: h.emu.client.clientId,
    connection_id: db.id, roles: [role.id ?? ''], send_invitation_email: false,
  });
  t.match(inv, { organization_id: id, invitee: { email: 'new@example.com' }, roles: [role.id] });
  t.match(inv.id, /^uinv_/);
  t.match(inv.invitation_url, /invitation=/);
  const list = await h.mgmt.organizations.invitations.list(id);
  t.equal(list.data.length, 1);
  t.equal((await h.mgmt.organizations.invitations.get(id, inv.id ?? '')).id, inv.id);
  const badRole = await error(h.mgmt.organizations.invitations.create(id, {
    inviter: { name: 'Admin' }, invitee: { email: 'x@example.com' }, client_id: h.emu.client.clientId, roles: ['rol_0000000000000000'],
  }));
  t.equal(badRole.statusCode, 400);
  await h.mgmt.organizations.invitations.delete(id, inv.id ?? '');
  t.same((await h.mgmt.organizations.invitations.list(id)).data, []);
});

t.test('organization list: checkpoint and offset paging', async (t) => {
  for (let i = 0; i < 12; i++) await h.mgmt.organizations.create({ name: `paged-${String(i).padStart(2, '0')}` });
  const total = h.emu.emulator.state.organizations.size;
  const names: string[] = [];
  for await (const o of await h.mgmt.organizations.list({ take: 5 })) names.push(o.name ?? '');
  t.equal(names.length, total);
  t.equal(new Set(names).size, total);
  const token = await h.token();
  const offset = await h.request('GET', '/api/v2/organizations?page=1&per_page=5&include_totals=true', { token });
  t.match(offset.body, { start: 5, limit: 5, total });
});

t.test('every response body matches the OpenAPI spec', async (t) => {
  t.ok(checkResponses(t, h) > 100);
});
