import t from 'tap';
import { checkResponses, managementError as error, startHarness } from './harness.js';

const h = await startHarness();
t.teardown(() => h.close());
const db = h.emu.connections.database;

t.test('roles: create, name_filter, get, update, delete, role users', async (t) => {
  const admin = await h.mgmt.roles.create({ name: 'Acme Admin', description: 'admins' });
  t.match(admin.id, /^rol_[A-Za-z0-9]{16}$/);
  await h.mgmt.roles.create({ name: 'Acme Viewer' });
  await h.mgmt.roles.create({ name: 'Other' });
  const dup = await error(h.mgmt.roles.create({ name: 'acme admin' }));
  t.equal(dup.statusCode, 409);
  t.match(dup.body, { message: 'The role already exists.' });
  const filtered = await h.mgmt.roles.list({ name_filter: 'ACME' });
  t.same(filtered.data.map((r) => r.name).sort(), ['Acme Admin', 'Acme Viewer'], 'name_filter is case-insensitive');
  t.equal((await h.mgmt.roles.get(admin.id ?? '')).description, 'admins');
  t.equal((await h.mgmt.roles.update(admin.id ?? '', { description: 'changed' })).description, 'changed');

  const u = await h.mgmt.users.create({ connection: db.name, email: 'role-user@example.com', password: 'Sup3r-secret!' });
  await h.mgmt.roles.users.assign(admin.id ?? '', { users: [u.user_id ?? ''] });
  const roleUsers = await h.mgmt.roles.users.list(admin.id ?? '');
  t.same(roleUsers.data.map((x) => x.user_id), [u.user_id]);
  await h.mgmt.roles.delete(admin.id ?? '');
  t.equal((await error(h.mgmt.roles.get(admin.id ?? ''))).statusCode, 404);
  t.same(h.emu.emulator.state.user(u.user_id ?? '').roles, [], 'deleting a role removes its assignments');
});

t.test('roles: offset paging over more than one page', async (t) => {
  for (let i = 0; i < 12; i++) await h.mgmt.roles.create({ name: `paged-role-${i}` });
  const names: string[] = [];
  for await (const r of await h.mgmt.roles.list({ per_page: 5, name_filter: 'paged-role' })) names.push(r.name ?? '');
  t.equal(names.length, 12);
});

t.test('connections: list with filters and paging, get', async (t) => {
  for (let i = 0; i < 6; i++) h.emu.emulator.createConnection({ name: `extra-${i}`, strategy: 'oidc' });
  const all: string[] = [];
  for await (const c of await h.mgmt.connections.list({ take: 3 })) all.push(c.name ?? '');
  t.equal(all.length, 8, 'checkpoint paging through 3 pages');
  const saml = await h.mgmt.connections.list({ strategy: ['samlp'] });
  t.same(saml.data.map((c) => c.name), ['acme-saml']);
  const byName = await h.mgmt.connections.list({ name: db.name });
  t.same(byName.data.map((c) => c.id), [db.id]);
  const got = await h.mgmt.connections.get(db.id);
  t.match(got, { id: db.id, name: db.name, strategy: 'auth0', enabled_clients: [h.emu.client.clientId] });
  t.equal((await error(h.mgmt.connections.get('con_0000000000000000'))).statusCode, 404);
  const token = await h.token();
  const offset = await h.request('GET', '/api/v2/connections?page=1&per_page=3&include_totals=true', { token });
  t.match(offset.body, { start: 3, limit: 3, total: 8 });
});

t.test('inbound SCIM configuration and tokens through the Management API', async (t) => {
  const oidc = h.emu.emulator.createConnection({ name: 'scim-oidc', strategy: 'oidc' });
  const cfg = await h.mgmt.connections.scimConfiguration.create(oidc.id, { user_id_attribute: 'externalId' });
  t.match(cfg, { connection_id: oidc.id, connection_name: 'scim-oidc', strategy: 'oidc', user_id_attribute: 'externalId' });
  t.equal((await h.mgmt.connections.scimConfiguration.get(oidc.id)).connection_id, oidc.id);
  await h.mgmt.connections.scimConfiguration.tokens.create(oidc.id, { scopes: ['get:users'] });
  await h.mgmt.connections.scimConfiguration.tokens.create(oidc.id, {});
  const third = await error(h.mgmt.connections.scimConfiguration.tokens.create(oidc.id, {}));
  t.equal(third.statusCode, 409, 'at most 2 tokens');
  t.equal((await h.mgmt.connections.scimConfiguration.tokens.get(oidc.id)).length, 2);
  t.equal((await error(h.mgmt.connections.scimConfiguration.create(db.id, {}))).statusCode, 400, 'not for database connections');
  await h.mgmt.connections.scimConfiguration.delete(oidc.id);
  t.equal((await error(h.mgmt.connections.scimConfiguration.get(oidc.id))).statusCode, 404);
});

t.test('password-change tickets', async (t) => {
  const u = await h.mgmt.users.create({ connection: db.name, email: 'ticket@example.com', password: 'Sup3r-secret!' });
  const byId = await h.mgmt.tickets.changePassword({ user_id: u.user_id ?? '', ttl_sec: 0 });
  t.match(byId.ticket, new RegExp(`^https://${h.emu.domain.replaceAll('.', '\\.')}/lo/reset\\?ticket=`));
  const byEmail = await h.mgmt.tickets.changePassword({ email: 'ticket@example.com', connection_id: db.id });
  t.ok(byEmail.ticket);
  t.equal(h.emu.emulator.state.tickets.size, 2);
  t.equal((await error(h.mgmt.tickets.changePassword({ user_id: 'auth0|missing' }))).statusCode, 404);
  const both = await error(h.mgmt.tickets.changePassword({ user_id: u.user_id ?? '', result_url: 'https://app.example.com/', client_id: h.emu.client.clientId }));
  t.equal(both.statusCode, 400);
});

t.test('every response body matches the OpenAPI spec', async (t) => {
  t.ok(checkResponses(t, h) > 40);
});
