import t from 'tap';
import { ManagementClient } from 'auth0';
import { startAuth0Emulator } from '../../src/auth0/emulator/server.js';
import { createManagementClient } from '../../src/auth0/client.js';
import { Auth0Gateway } from '../../src/auth0/gateway.js';
import { Auth0ConflictError, Auth0NotFoundError, Auth0PermanentError } from '../../src/auth0/errors.js';
import { RateBudget } from '../../src/auth0/rate-budget.js';

const emu = await startAuth0Emulator({ plan: 'off' });
t.teardown(() => emu.close());
const client = createManagementClient({
  domain: emu.domain, clientId: emu.client.clientId, clientSecret: emu.client.clientSecret,
  baseUrl: emu.baseUrl, plan: 'enterprise', timeoutSeconds: 5,
});
const gw = new Auth0Gateway({ client, budget: new RateBudget({ plan: 'off' }), secrets: [emu.client.clientSecret] });
// Setup that is not the gateway's job (roles are created by admins) goes through the SDK directly.
const admin = new ManagementClient({ domain: emu.domain, clientId: emu.client.clientId, clientSecret: emu.client.clientSecret, fetch: emu.fetch });
const db = emu.connections.database;
const password = 'Sup3r-secret!x';
const T = 'tenant-1';
let n = 0;
const email = (): string => `user${++n}@example.com`;

t.test('createManagementClient reaches the emulator through the baseUrl rewrite', async (t) => {
  const created = await client.users.create({ connection: db.name, email: email(), password });
  t.match(created.user_id, /^auth0\|/);
  const tokenCalls = emu.emulator.callLog({ operation: 'POST /oauth/token' });
  t.ok(tokenCalls.length >= 1, 'the token request went to the emulator too');
});

t.test('Auth0Gateway.fromSettings builds client and budget from the settings', async (t) => {
  const fromCfg = Auth0Gateway.fromSettings({
    domain: emu.domain, clientId: emu.client.clientId, clientSecret: emu.client.clientSecret, baseUrl: `${emu.baseUrl}/`, plan: 'essentials',
  });
  t.equal(fromCfg.budget.plan, 'essentials');
  t.equal(await fromCfg.getOrganizationByName('nothing-here', T), undefined);
  t.equal(fromCfg.stats.get('GET /organizations/name/{name}', 404), 1);
  t.same(fromCfg.budget.snapshot().buckets.map((b) => [b.bucket, b.limit]), [['read_org_by_name', 10]]);
});

t.test('users: create, get, find by email, update with first-level app_metadata merge, delete', async (t) => {
  const address = email();
  const user = await gw.createDatabaseUser({ connection: db.name, email: address, password, name: 'Alice', app_metadata: { provisio: { tenant: T }, keep: 1 } }, T);
  t.match(user, { email: address, name: 'Alice', blocked: false, app_metadata: { provisio: { tenant: T }, keep: 1 } });
  t.equal(user.identities[0]?.connection, db.name);
  const sent = emu.emulator.callLog({ operation: 'POST /users' }).at(-1)?.body as Record<string, unknown> | undefined;
  t.equal(sent?.['verify_email'], false, 'no Auth0 verification email by default');

  t.same((await gw.getUser(user.user_id, T))?.email, address);
  t.same((await gw.findUsersByEmail(address, T)).map((u) => u.user_id), [user.user_id]);
  t.same(await gw.findUsersByEmail('nobody@example.com', T), []);

  const updated = await gw.updateUser(user.user_id, { blocked: true, name: null, app_metadata: { provisio: { tenant: T, active: false }, keep: null } }, T);
  t.equal(updated.blocked, true);
  t.equal(updated.name, undefined, 'null unsets a root attribute');
  t.same(updated.app_metadata, { provisio: { tenant: T, active: false } }, 'first-level merge, null removes');
  const unblocked = await gw.updateUser(user.user_id, { blocked: false, app_metadata: { extra: 'x' } }, T);
  t.same(unblocked.app_metadata, { provisio: { tenant: T, active: false }, extra: 'x' }, 'untouched keys stay');

  const dup = await gw.createDatabaseUser({ connection: db.name, email: address, password }, T).catch((e: unknown) => e);
  t.type(dup, Auth0ConflictError, 'duplicate → 409 conflict');
  t.equal((dup as Auth0ConflictError).status, 409);

  await gw.deleteUser(user.user_id, T);
  t.equal(await gw.getUser(user.user_id, T), undefined, 'missing user → undefined');
  await gw.deleteUser(user.user_id, T);
  t.pass('deleting again is fine');
});

t.test('revoke sessions and refresh tokens; a missing user is tolerated', async (t) => {
  const user = await gw.createDatabaseUser({ connection: db.name, email: email(), password }, T);
  emu.emulator.addSession(user.user_id);
  emu.emulator.addSession(user.user_id);
  await gw.revokeSessionsAndRefreshTokens(user.user_id, T);
  const stored = emu.emulator.state.users.get(user.user_id);
  t.same(stored?.sessions, []);
  t.same(stored?.refresh_tokens, []);
  await gw.revokeSessionsAndRefreshTokens('auth0|000000000000000000000000', T);
  t.pass('no error for a user that does not exist');
});

t.test('link a secondary identity into a primary', async (t) => {
  const primary = await gw.createDatabaseUser({ connection: db.name, email: email(), password }, T);
  const secondary = await gw.createDatabaseUser({ connection: db.name, email: email(), password }, T);
  await gw.linkIdentity(primary.user_id, { provider: 'auth0', user_id: secondary.user_id.split('|')[1] ?? '', connection_id: db.id }, T);
  const after = await gw.getUser(primary.user_id, T);
  t.equal(after?.identities.length, 2);
  t.equal(await gw.getUser(secondary.user_id, T), undefined, 'the secondary no longer exists on its own');
});

t.test('organizations: by name (404 → undefined), create idempotently, get, enabled connection', async (t) => {
  t.equal(await gw.getOrganizationByName('acme', T), undefined);
  const first = await gw.createOrganization({ name: 'acme', display_name: 'Acme Inc.', metadata: { provisio_tenant: T } }, T);
  t.equal(first.created, true);
  t.match(first.organization, { name: 'acme', display_name: 'Acme Inc.', metadata: { provisio_tenant: T } });
  const again = await gw.createOrganization({ name: 'acme', display_name: 'Acme Inc.' }, T);
  t.same(again, { organization: first.organization, created: false }, '409 → the existing org');
  t.same(await gw.getOrganizationByName('acme', T), first.organization);
  t.same(await gw.getOrganization(first.organization.id, T), first.organization);
  await t.rejects(gw.getOrganization('org_doesnotexist1234', T), Auth0NotFoundError);

  const orgId = first.organization.id;
  t.equal(await gw.ensureEnabledConnection(orgId, db.id, { assign_membership_on_login: false }, T), 'created');
  t.equal(await gw.ensureEnabledConnection(orgId, db.id, { assign_membership_on_login: false }, T), 'unchanged');
  t.equal(await gw.ensureEnabledConnection(orgId, db.id, { assign_membership_on_login: true }, T), 'updated');
  const stored = emu.emulator.state.organizations.get(orgId)?.enabled_connections;
  t.match(stored, [{ connection_id: db.id, assign_membership_on_login: true }]);

  const withConn = await gw.createOrganization({ name: 'beta', enabled_connections: [{ connection_id: db.id, assign_membership_on_login: true }] }, T);
  t.equal(await gw.ensureEnabledConnection(withConn.organization.id, db.id, { assign_membership_on_login: true }, T), 'unchanged');
});

t.test('members: added in chunks of 10, listed across checkpoint pages, removed', async (t) => {
  const org = (await gw.createOrganization({ name: 'members-org' }, T)).organization;
  const users = [];
  for (let i = 0; i < 57; i++) users.push((await admin.users.create({ connection: db.name, email: email(), password })).user_id ?? '');
  emu.emulator.clearCallLog();
  await gw.addMembers(org.id, users, T);
  const posts = emu.emulator.callLog({ operation: 'POST /organizations/{id}/members' });
  t.equal(posts.length, Math.ceil(57 / 10), 'ceil(n/10) POSTs');
  t.ok(posts.every((c) => ((c.body as { members: unknown[] }).members.length <= 10)), 'none over 10');
  await gw.addMembers(org.id, [], T);
  t.equal(emu.emulator.callLog({ operation: 'POST /organizations/{id}/members' }).length, 6, 'no call for nothing');

  const listed = await gw.listMemberIds(org.id, T);
  t.same([...listed].sort(), [...users].sort(), 'every member, across pages of 50');
  t.equal(emu.emulator.callLog({ operation: 'GET /organizations/{id}/members' }).length, 2, 'two checkpoint pages');

  await gw.removeMembers(org.id, users.slice(0, 23), T);
  t.equal(emu.emulator.callLog({ operation: 'DELETE /organizations/{id}/members' }).length, 3);
  t.same([...(await gw.listMemberIds(org.id, T))].sort(), users.slice(23).sort());
  const orgs = await gw.getUserOrganizations(users[30] ?? '', T);
  t.same(orgs.map((o) => o.id), [org.id], 'user organizations');
});

t.test('roles: resolve names (exact, cached, unknown reported), member roles, tenant roles', async (t) => {
  const reader = (await admin.roles.create({ name: 'reader' })).id ?? '';
  const readerAdmin = (await admin.roles.create({ name: 'reader-admin' })).id ?? '';
  emu.emulator.clearCallLog();
  const resolved = await gw.resolveRoleIds(['reader', 'reader-admin', 'ghost', 'reader'], T);
  t.same([...resolved.ids], [['reader', reader], ['reader-admin', readerAdmin]], 'exact names, though name_filter is a substring match');
  t.same(resolved.unknown, ['ghost'], 'unknown names reported, not invented');
  t.equal(emu.emulator.state.roles.size, 2, 'no role created');
  const calls = emu.emulator.callLog({ operation: 'GET /roles' }).length;
  const again = await gw.resolveRoleIds(['reader', 'ghost'], T);
  t.equal(again.ids.get('reader'), reader);
  t.equal(emu.emulator.callLog({ operation: 'GET /roles' }).length, calls + 1, 'cached name skipped; unknown asked again');

  const org = (await gw.createOrganization({ name: 'roles-org' }, T)).organization;
  const user = await gw.createDatabaseUser({ connection: db.name, email: email(), password }, T);
  await gw.addMembers(org.id, [user.user_id], T);
  await gw.addMemberRoles(org.id, user.user_id, [reader, readerAdmin], T);
  t.same((await gw.getMemberRoleIds(org.id, user.user_id, T)).sort(), [reader, readerAdmin].sort());
  await gw.removeMemberRoles(org.id, user.user_id, [reader], T);
  t.same(await gw.getMemberRoleIds(org.id, user.user_id, T), [readerAdmin]);

  await gw.assignUserRoles(user.user_id, [reader], T);
  t.same(await gw.getUserRoleIds(user.user_id, T), [reader]);
  await gw.removeUserRoles(user.user_id, [reader], T);
  t.same(await gw.getUserRoleIds(user.user_id, T), []);
  const before = emu.emulator.callLog().length;
  await gw.assignUserRoles(user.user_id, [], T);
  await gw.addMemberRoles(org.id, user.user_id, [], T);
  t.equal(emu.emulator.callLog().length, before, 'empty role lists make no call');
});

t.test('password-change ticket and invitation', async (t) => {
  const org = (await gw.createOrganization({ name: 'invite-org' }, T)).organization;
  await gw.ensureEnabledConnection(org.id, db.id, { assign_membership_on_login: false }, T);
  const user = await gw.createDatabaseUser({ connection: db.name, email: email(), password }, T);
  const ticket = await gw.createPasswordChangeTicket({ user_id: user.user_id, mark_email_as_verified: true, ttl_sec: 3600 }, T);
  t.match(ticket, /^https?:\/\//);
  const invitation = await gw.createInvitation(org.id, { inviterName: 'Provisio', email: email(), clientId: emu.client.clientId, connectionId: db.id, sendEmail: false }, T);
  t.match(invitation.id, /^uinv_/);
  t.match(invitation.invitation_url, /^https?:\/\//);
  await t.rejects(gw.createInvitation(org.id, { inviterName: 'P', email: email(), clientId: 'no-such-client' }, T), Auth0PermanentError);
});

t.test('inbound SCIM: creates the enterprise user, id = user_id; a repeat is idempotent (409 → lookup)', async (t) => {
  const { url, token } = emu.connections.enterprise.scim;
  const scimUser = { userName: 'bob@acme.example', externalId: 'bob-1', emails: [{ value: 'bob@acme.example', primary: true }], active: true };
  const id = await gw.createInboundScimUser(url, token, scimUser, T);
  t.ok(emu.emulator.state.users.has(id), 'the SCIM id is the Auth0 user_id');
  t.equal(await gw.createInboundScimUser(url, token, scimUser, T), id, 'second create returns the same id');
  t.equal(gw.stats.get('POST /scim/v2/connections/{id}/Users', 409), 1);
  t.equal(gw.stats.get('GET /scim/v2/connections/{id}/Users', 200), 1);
  const org = (await gw.createOrganization({ name: 'scim-org' }, T)).organization;
  await gw.addMembers(org.id, [id], T);
  t.same(await gw.listMemberIds(org.id, T), [id], 'a SCIM-provisioned user can be made a member ahead of login');
  const bad = await gw.createInboundScimUser(url, 'wrong-token-value', { userName: 'x@acme.example', externalId: 'x' }, T).catch((e: unknown) => e);
  t.type(bad, Auth0PermanentError);
  t.notMatch((bad as Error).message, 'wrong-token-value');
});

t.test('stats count calls per operation and status', async (t) => {
  t.ok(gw.stats.get('POST /users', 201) >= 5);
  t.ok(gw.stats.get('POST /users', 409) >= 1);
  t.ok(gw.stats.get('GET /organizations/name/{name}', 404) >= 1);
  t.ok(gw.stats.entries().every((e) => e.count > 0 && typeof e.operation === 'string'));
});
