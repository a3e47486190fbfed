import t from 'tap';
import { checkResponses, managementError as error, startHarness } from './harness.js';

const h = await startHarness();
t.teardown(() => h.close());
const db = h.emu.connections.database.name;
const password = 'Sup3r-secret!';

t.test('create, get, update with first-level metadata merge, delete', async (t) => {
  const created = await h.mgmt.users.create({
    connection: db, email: 'Alice@Example.com', password, given_name: 'Alice',
    app_metadata: { tenant: 'acme', nested: { a: 1, b: 2 }, keep: true },
  });
  t.match(created.user_id, /^auth0\|[0-9a-f]{24}$/);
  t.equal(created.email, 'alice@example.com', 'database emails are stored lower-case');
  t.equal(created.identities?.[0]?.connection, db);

  const id = created.user_id ?? '';
  const got = await h.mgmt.users.get(id);
  t.equal(got.given_name, 'Alice');

  const updated = await h.mgmt.users.update(id, {
    blocked: true,
    given_name: null as unknown as string,
    app_metadata: { nested: { c: 3 }, keep: null, added: 'x' },
  });
  t.equal(updated.blocked, true);
  t.notOk('given_name' in updated, 'null unsets a root attribute');
  t.same(updated.app_metadata, { tenant: 'acme', nested: { c: 3 }, added: 'x' }, 'merge is first-level only; null removes the key');

  const byEmail = await h.mgmt.users.listUsersByEmail({ email: 'alice@example.com' });
  t.same(byEmail.map((u) => u.user_id), [id]);

  await h.mgmt.users.delete(id);
  const missing = await error(h.mgmt.users.get(id));
  t.equal(missing.statusCode, 404);
  t.match(missing.body, { statusCode: 404, error: 'Not Found', errorCode: 'inexistent_user' });
  await h.mgmt.users.delete(id);
  t.pass('deleting a missing user is still 204 (the spec documents no 404)');
});

t.test('creation rules: database connections only, duplicates, validation', async (t) => {
  const enterprise = await error(h.mgmt.users.create({ connection: h.emu.connections.enterprise.name, email: 'e@example.com', password }));
  t.equal(enterprise.statusCode, 400, 'enterprise users cannot be created through the Management API');
  t.match(enterprise.body, { errorCode: 'operation_not_supported' });

  await h.mgmt.users.create({ connection: db, email: 'dup@example.com', password });
  const dup = await error(h.mgmt.users.create({ connection: db, email: 'DUP@example.com', password }));
  t.equal(dup.statusCode, 409);
  t.match(dup.body, { message: 'The user already exists.', errorCode: 'auth0_idp_error' });

  const weak = await error(h.mgmt.users.create({ connection: db, email: 'weak@example.com', password: 'short' }));
  t.equal(weak.statusCode, 400);

  const unknownProperty = await error(h.mgmt.users.create({ connection: db, email: 'x@example.com', password, colour: 'red' } as never));
  t.equal(unknownProperty.statusCode, 400);
  t.match(unknownProperty.body, { errorCode: 'invalid_body', message: /Additional properties not allowed: colour/ });

  const badConnection = await error(h.mgmt.users.create({ connection: 'nope', email: 'x@example.com', password }));
  t.equal(badConnection.statusCode, 400);

  const noClient = h.emu.emulator.createConnection({ name: 'not-enabled', strategy: 'auth0' });
  const notEnabled = await error(h.mgmt.users.create({ connection: noClient.name, email: 'x@example.com', password }));
  t.match(notEnabled.body, { message: /Connection must be enabled for this client/ });
});

t.test('offset paging through more than one page with the SDK', async (t) => {
  for (let i = 0; i < 23; i++) await h.mgmt.users.create({ connection: db, email: `page${i}@example.com`, password, app_metadata: { batch: 'paging' } });
  const first = await h.mgmt.users.list({ per_page: 10, q: 'app_metadata.batch:"paging"' });
  t.equal(first.data.length, 10);
  t.match(first.response, { start: 0, limit: 10, length: 10, total: 23 });
  const seen: string[] = [];
  for await (const user of await h.mgmt.users.list({ per_page: 10, q: 'app_metadata.batch:"paging"' })) seen.push(user.user_id ?? '');
  t.equal(seen.length, 23, 'the SDK iterates pages until an empty page');
  t.equal(new Set(seen).size, 23);

  const bare = await h.request('GET', '/api/v2/users?per_page=2&page=1', { token: await h.token() });
  t.ok(Array.isArray(bare.body), 'include_totals=false answers a bare array');
  const capped = await h.request('GET', '/api/v2/users?per_page=50&page=20', { token: await h.token() });
  t.equal(capped.status, 400);
  t.match(capped.body, { errorCode: 'invalid_paging' }, 'offset paging stops at 1,000 records');
  const tooBig = await h.request('GET', '/api/v2/users?per_page=101', { token: await h.token() });
  t.match(tooBig.body, { statusCode: 400, errorCode: 'invalid_query_string' }, 'per_page maximum 100 (spec)');
});

t.test('identities link and unlink', async (t) => {
  const primary = await h.mgmt.users.create({ connection: db, email: 'primary@example.com', password });
  const secondary = await h.mgmt.users.create({ connection: db, email: 'secondary@example.com', password, app_metadata: { lost: true } });
  const secondaryLocal = (secondary.user_id ?? '').replace('auth0|', '');
  const identities = await h.mgmt.users.identities.link(primary.user_id ?? '', { provider: 'auth0', user_id: secondaryLocal });
  t.equal(identities.length, 2);
  t.equal((await error(h.mgmt.users.get(secondary.user_id ?? ''))).statusCode, 404, 'the secondary stops existing');
  const again = await error(h.mgmt.users.identities.link(primary.user_id ?? '', { provider: 'auth0', user_id: secondaryLocal }));
  t.equal(again.statusCode, 409);

  const remaining = await h.mgmt.users.identities.delete(primary.user_id ?? '', 'auth0', secondaryLocal);
  t.equal(remaining.length, 1);
  const restored = await h.mgmt.users.get(secondary.user_id ?? '');
  t.same(restored.app_metadata, {}, 'unlinked account comes back without its old metadata');
});

t.test('tenant roles and organizations of a user', async (t) => {
  const user = await h.mgmt.users.create({ connection: db, email: 'roles@example.com', password });
  const id = user.user_id ?? '';
  const role = await h.mgmt.roles.create({ name: 'user-role-test' });
  await h.mgmt.users.roles.assign(id, { roles: [role.id ?? ''] });
  const roles = await h.mgmt.users.roles.list(id);
  t.same(roles.data.map((r) => r.name), ['user-role-test']);
  await h.mgmt.users.roles.delete(id, { roles: [role.id ?? ''] });
  t.same((await h.mgmt.users.roles.list(id)).data, []);
  const missingRole = await error(h.mgmt.users.roles.assign(id, { roles: ['rol_0000000000000000'] }));
  t.equal(missingRole.statusCode, 404);

  const org = await h.mgmt.organizations.create({ name: 'user-orgs' });
  await h.mgmt.organizations.members.create(org.id ?? '', { members: [id] });
  const orgs = await h.mgmt.users.organizations.list(id);
  t.same(orgs.data.map((o) => o.name), ['user-orgs']);
});

t.test('sessions, refresh tokens and revoke-access', async (t) => {
  const user = await h.mgmt.users.create({ connection: db, email: 'sessions@example.com', password });
  const id = user.user_id ?? '';
  const stored = () => h.emu.emulator.state.user(id);
  h.emu.emulator.addSession(id);
  h.emu.emulator.addSession(id);
  await h.mgmt.users.sessions.delete(id);
  t.same(stored().sessions, []);
  t.equal(stored().refresh_tokens.length, 2, 'deleting sessions keeps refresh tokens');
  await h.mgmt.users.refreshToken.delete(id);
  t.same(stored().refresh_tokens, []);

  h.emu.emulator.addSession(id);
  await h.mgmt.users.revokeAccess(id, { preserve_refresh_tokens: true });
  t.same(stored().sessions, []);
  t.equal(stored().refresh_tokens.length, 1);
  await h.mgmt.users.revokeAccess(id, {});
  t.same(stored().refresh_tokens, []);
  t.equal((await error(h.mgmt.users.sessions.delete('auth0|missing'))).statusCode, 404);
});

t.test('every response body matches the OpenAPI spec', async (t) => {
  t.ok(checkResponses(t, h) > 50);
});
