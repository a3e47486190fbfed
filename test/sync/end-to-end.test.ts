import t from 'tap';
import { createManagementClient } from '../../src/auth0/client.js';
import { GROUP_URN, USER_URN } from '../helpers/app.js';
import { syncHarness, type SyncHarness } from '../helpers/sync.js';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

async function createRoles(h: SyncHarness, ...names: string[]): Promise<void> {
  const client = createManagementClient({
    domain: h.emulator.domain, clientId: h.emulator.client.clientId, clientSecret: h.emulator.client.clientSecret, baseUrl: h.emulator.baseUrl, plan: 'enterprise',
  });
  for (const name of names) await client.roles.create({ name });
}

async function user(h: SyncHarness, userName: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await h.scim.json('POST', '/Users', { schemas: [USER_URN], userName, emails: [{ value: userName, type: 'work', primary: true }], name: { givenName: 'G', familyName: userName.split('@')[0] }, ...extra });
  if (res.status !== 201) throw new Error(JSON.stringify(res.body));
  return res.body.id;
}

async function group(h: SyncHarness, displayName: string, members: string[], externalId?: string): Promise<string> {
  const res = await h.scim.json('POST', '/Groups', { schemas: [GROUP_URN], displayName, ...(externalId ? { externalId } : {}), members: members.map((value) => ({ value })) });
  if (res.status !== 201) throw new Error(JSON.stringify(res.body));
  return res.body.id;
}

const RULES = {
  rules: [
    { id: 'admins', match: { by: 'externalId', value: 'grp-admins' }, grant: { orgRoles: ['admin'], tenantRoles: [], organizations: [] } },
    { id: 'staff', match: { by: 'displayName', value: 'Staff' }, grant: { orgRoles: ['member'], tenantRoles: ['reader'], organizations: [] } },
  ],
};

t.test('binding creates the organization if missing, adds members and org roles from groups, ahead of login', async (t) => {
  const h = await syncHarness(t);
  await createRoles(h, 'admin', 'member', 'reader');
  const alice = await user(h, 'alice@acme.test');
  const bob = await user(h, 'bob@acme.test');
  await group(h, 'Administrators', [alice], 'grp-admins');
  await group(h, 'Staff', [alice, bob]);
  t.equal(h.org('acme'), undefined, 'no organization before binding');

  await h.bind(undefined, RULES);
  await h.settle();
  const org = h.org('acme');
  t.ok(org, 'organization created');
  const a = h.auth0User('alice@acme.test');
  const b = h.auth0User('bob@acme.test');
  t.ok(a && b, 'database users created');
  t.same(org!.members.get(a!.user_id as string), ['admin', 'member']);
  t.same(org!.members.get(b!.user_id as string), ['member']);
  t.equal(a!.email_verified, true);

  // The next SCIM change flows through without a bind: a new user in Staff.
  const carol = await user(h, 'carol@acme.test');
  await h.scim.json('PATCH', `/Groups/${(await h.scim.json('GET', '/Groups?filter=displayName eq "Staff"')).body.Resources[0].id}`, {
    schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: carol }] }],
  });
  await h.settle();
  const c = h.auth0User('carol@acme.test');
  t.same(h.org('acme')!.members.get(c!.user_id as string), ['member']);
  t.equal(h.worker.counts.failed, 0, 'no failed job');
});

t.test('rename keeps roles keyed by externalId; leaving a group drops its role', async (t) => {
  const h = await syncHarness(t);
  await createRoles(h, 'admin', 'member', 'reader');
  const alice = await user(h, 'alice@acme.test');
  const admins = await group(h, 'Administrators', [alice], 'grp-admins');
  const staff = await group(h, 'Staff', [alice]);
  await h.bind(undefined, RULES);
  await h.settle();
  const id = h.auth0User('alice@acme.test')!.user_id as string;
  t.same(h.org('acme')!.members.get(id), ['admin', 'member']);

  await h.scim.json('PATCH', `/Groups/${admins}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'displayName', value: 'Admins (renamed)' }] });
  await h.settle();
  t.same(h.org('acme')!.members.get(id), ['admin', 'member'], 'rename keeps the externalId-keyed role');

  await h.scim.json('PATCH', `/Groups/${staff}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${alice}"]` }] });
  await h.settle();
  t.same(h.org('acme')!.members.get(id), ['admin'], 'removal from Staff drops the member role');
});

t.test('deactivate blocks and revokes; reactivate unblocks; DELETE follows the tenant policy', async (t) => {
  const h = await syncHarness(t);
  await createRoles(h, 'admin', 'member', 'reader');
  const alice = await user(h, 'alice@acme.test');
  const bob = await user(h, 'bob@acme.test');
  await h.bind({
    organization: { name: 'acme' },
    connections: [{ id: h.emulator.connections.database.id, name: h.emulator.connections.database.name, mode: 'database' }],
    deprovision: 'delete',
  }, RULES);
  await h.settle();
  const aliceId = h.auth0User('alice@acme.test')!.user_id as string;
  h.emulator.emulator.addSession(aliceId);

  await h.scim.json('PATCH', `/Users/${alice}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
  await h.settle();
  t.equal(h.auth0User('alice@acme.test')!.blocked, true, 'blocked');
  const revocations = h.emulator.emulator.callLog().filter((c) => /sessions|refresh-tokens|revoke-access/.test(c.url) && c.method !== 'GET' && c.status < 300);
  t.ok(revocations.length >= 1, 'sessions and refresh tokens revoked');

  await h.scim.json('PATCH', `/Users/${alice}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: true } }] });
  await h.settle();
  t.equal(h.auth0User('alice@acme.test')!.blocked, false, 'reactivation unblocks');

  t.ok(h.auth0User('bob@acme.test'), 'bob exists');
  t.equal((await h.scim.request('DELETE', `/Users/${bob}`)).statusCode, 204);
  await h.settle();
  t.equal(h.auth0User('bob@acme.test'), undefined, 'delete policy removed the Auth0 user');
  t.equal(h.worker.counts.failed, 0);
});

t.test('an existing Auth0 user with the same verified email is linked, not duplicated', async (t) => {
  const h = await syncHarness(t);
  const client = createManagementClient({
    domain: h.emulator.domain, clientId: h.emulator.client.clientId, clientSecret: h.emulator.client.clientSecret, baseUrl: h.emulator.baseUrl, plan: 'enterprise',
  });
  const existing = await client.users.create({ connection: h.emulator.connections.database.name, email: 'dana@acme.test', password: 'Correct-Horse-9!', email_verified: true });
  await user(h, 'dana@acme.test');
  await h.bind();
  await h.settle();
  const all = h.emulator.emulator.snapshot().users.filter((u) => u.email === 'dana@acme.test');
  t.equal(all.length, 1, 'no duplicate');
  t.ok(h.org('acme')!.members.has(existing.user_id!), 'the existing user became the member');
});

t.test('a rule naming a role Auth0 does not have fails that user once, clearly, without endless retries', async (t) => {
  const h = await syncHarness(t);
  const alice = await user(h, 'alice@acme.test');
  await group(h, 'Staff', [alice]);
  await h.bind(undefined, RULES);
  await h.settle();
  const { sql } = await import('kysely');
  const row = (await sql<{ status: string; last_error: string }>`select status, last_error from user_sync`.execute(h.database.db)).rows[0];
  t.equal(row?.status, 'failed');
  t.match(row?.last_error, /role\(s\) not found in Auth0: member/);
  const roleCalls = h.emulator.emulator.callLog().filter((c) => c.operation === 'GET /roles');
  t.ok(roleCalls.length <= 3, `looked the roles up ${roleCalls.length} time(s), not once per retry`);
});
