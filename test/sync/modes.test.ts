import t from 'tap';
import { sql } from 'kysely';
import { scimUser, syncHarness, userSyncRow, type SyncHarness } from '../helpers/sync.js';

/** Rows of every table (the app's schema and the queue's) whose text contains `needle`. */
async function rowsContaining(h: SyncHarness, needle: string): Promise<string[]> {
  const { rows: tables } = await sql<{ schema: string; name: string }>`
    select table_schema as schema, table_name as name from information_schema.tables
    where table_type = 'BASE TABLE' and table_schema in (current_schema(), ${h.queueSchema})`.execute(h.database.db);
  if (tables.length < 5) throw new Error(`expected the app's and the queue's tables, found ${tables.length}`);
  const hits: string[] = [];
  for (const { schema, name } of tables) {
    const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.table(`${schema}.${name}`)} as r where r::text like ${`%${needle}%`}`.execute(h.database.db);
    if (Number(rows[0]!.n) > 0) hits.push(`${schema}.${name}`);
  }
  return hits;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('database connection: created with a random password Provisio never keeps, member, password-change ticket', async (t) => {
  const h = await syncHarness(t);
  const id = await scimUser(h, 'erin@acme.test');
  await h.bind({
    organization: { name: 'acme' },
    connections: [{ id: h.emulator.connections.database.id, name: h.emulator.connections.database.name, mode: 'database' }],
    onboarding: 'password-ticket',
  });
  await h.settle();
  const user = h.auth0User('erin@acme.test');
  t.ok(user, 'Auth0 user created');
  t.match(user!.identities, [{ connection: h.emulator.connections.database.name }], 'in the database connection');
  t.ok(h.org('acme')!.members.has(user!.user_id as string), 'member of the organization');

  const creates = h.emulator.emulator.callLog({ operation: 'POST /users' });
  t.equal(creates.length, 1, 'one creation');
  const password = (creates[0]!.body as { password?: string }).password;
  t.ok(password && password.length >= 20, 'a long random password was sent to Auth0');
  t.same(await rowsContaining(h, password!), [], 'the password is nowhere in the database (app tables and queue)');

  const row = await userSyncRow(h, id);
  t.equal(row?.status, 'synced');
  t.equal(row?.auth0_user_id, user!.user_id);
  const onboarding = row?.applied?.onboarding as { kind?: string; sealedTicketUrl?: string; ticketUrl?: string } | undefined;
  t.equal(onboarding?.kind, 'password-ticket');
  const tickets = h.emulator.emulator.snapshot().tickets.filter((x) => x.user_id === user!.user_id);
  t.equal(tickets.length, 1, 'one password-change ticket in Auth0');
  t.equal(onboarding?.ticketUrl, undefined, 'the ticket URL is not stored in the clear');
  t.equal(h.secrets.open(onboarding!.sealedTicketUrl!), tickets[0]!.ticket, 'it is kept sealed for delivery');
  t.same(await rowsContaining(h, tickets[0]!.ticket), [], 'and is nowhere in the database in the clear');
  t.equal(tickets[0]!.organization_id, h.org('acme')!.id, 'the ticket is for the organization');

  // A second user with a second password: the two differ (random, not derived).
  await scimUser(h, 'fred@acme.test');
  await h.settle();
  const second = (h.emulator.emulator.callLog({ operation: 'POST /users' })[1]!.body as { password: string }).password;
  t.not(second, password, 'passwords are random per user');
  t.equal(h.worker.counts.failed, 0);
});

t.test('enterprise connection without inbound SCIM: no Auth0 user, awaiting first login, org with the connection enabled', async (t) => {
  const h = await syncHarness(t);
  const id = await scimUser(h, 'gina@acme.test');
  const enterprise = h.emulator.connections.enterprise;
  await h.bind({
    organization: { name: 'acme', displayName: 'Acme Corp' },
    connections: [{ id: enterprise.id, name: enterprise.name, mode: 'enterprise', assignMembershipOnLogin: true }],
  });
  await h.settle();
  t.equal(h.auth0User('gina@acme.test'), undefined, 'no Auth0 user before login');
  t.equal(h.emulator.emulator.callLog({ operation: 'POST /users' }).length, 0, 'no creation attempted');
  const row = await userSyncRow(h, id);
  t.equal(row?.status, 'awaiting-login');
  t.equal(row?.auth0_user_id, null);
  t.equal(row?.last_error, null);
  const org = h.emulator.emulator.snapshot().organizations.find((o) => o.name === 'acme');
  t.ok(org, 'organization created');
  t.equal(org!.display_name, 'Acme Corp');
  t.match(org!.enabled_connections, [{ connection_id: enterprise.id, assign_membership_on_login: true }], 'connection enabled with auto-membership');
  t.equal(org!.enabled_connections.length, 1);
  t.equal(h.worker.counts.failed, 0);
});

t.test('enterprise connection with Auth0 inbound SCIM: the user is created ahead of login through the connection\'s SCIM endpoint', async (t) => {
  const h = await syncHarness(t);
  // Entra and Okta always send externalId; Auth0's inbound SCIM builds the enterprise user id from it.
  await scimUser(h, 'hank@acme.test', { externalId: '5b7e1c0a-hank' });
  const enterprise = h.emulator.connections.enterprise;
  await h.bind({
    organization: { name: 'acme' },
    connections: [{ id: enterprise.id, name: enterprise.name, mode: 'enterprise-scim', scim: { url: enterprise.scim.url, token: enterprise.scim.token } }],
  });
  await h.settle();
  const user = h.auth0User('hank@acme.test');
  t.ok(user, 'enterprise user exists before any login');
  t.match(user!.identities, [{ connection: enterprise.name }], 'on the enterprise connection');
  t.ok(h.org('acme')!.members.has(user!.user_id as string), 'and is a member of the organization');
  const scimCalls = h.emulator.emulator.callLog().filter((c) => c.method === 'POST' && c.url.includes('/scim/v2/connections/'));
  t.equal(scimCalls.length, 1, 'created through Auth0\'s inbound SCIM');
  const stored = await sql<{ binding: { connections: { scim: { sealedToken: string } }[] } }>`select binding from tenant_sync_config`.execute(h.database.db);
  const sealed = stored.rows[0]!.binding.connections[0]!.scim.sealedToken;
  t.match(sealed, /^v1:/, 'the SCIM token is stored sealed');
  t.notMatch(JSON.stringify(stored.rows), enterprise.scim.token, 'never in clear');
  t.equal(h.worker.counts.failed, 0);
});

t.test('enterprise-scim without the connection\'s SCIM endpoint and token is refused at bind time', async (t) => {
  const h = await syncHarness(t);
  const enterprise = h.emulator.connections.enterprise;
  await t.rejects(h.bind({ organization: { name: 'acme' }, connections: [{ id: enterprise.id, name: enterprise.name, mode: 'enterprise-scim' }] }), /give scim\.url and scim\.token/);
});
