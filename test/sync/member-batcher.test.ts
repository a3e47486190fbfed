import t from 'tap';
import { createManagementClient } from '../../src/auth0/client.js';
import { startAuth0Emulator } from '../../src/auth0/emulator/server.js';
import { Auth0Gateway } from '../../src/auth0/gateway.js';
import { RateBudget } from '../../src/auth0/rate-budget.js';
import { MemberBatcher } from '../../src/sync/member-batcher.js';

const emu = await startAuth0Emulator({ plan: 'off' });
t.teardown(() => emu.close());
const client = createManagementClient({
  domain: emu.domain, clientId: emu.client.clientId, clientSecret: emu.client.clientSecret,
  baseUrl: emu.baseUrl, plan: 'enterprise', timeoutSeconds: 5,
});
const gateway = new Auth0Gateway({ client, budget: new RateBudget({ plan: 'off' }), secrets: [emu.client.clientSecret] });
const T = 'tenant-1';
let n = 0;

async function orgWithUsers(users: number): Promise<{ orgId: string; userIds: string[] }> {
  const { organization } = await gateway.createOrganization({ name: `org-${++n}` }, T);
  const userIds: string[] = [];
  for (let i = 0; i < users; i++) {
    const user = await gateway.createDatabaseUser({ connection: emu.connections.database.name, email: `u${n}-${i}@example.com`, password: 'Sup3r-secret!x' }, T);
    userIds.push(user.user_id);
  }
  return { orgId: organization.id, userIds };
}

const memberCalls = (orgId: string) => emu.emulator.callLog({ operation: 'POST /organizations/{id}/members' }).filter((c) => c.url.includes(orgId));
const HOUR = 3_600_000;

t.test('a tenant with one job running here sends its member add at once, without lingering', async (t) => {
  const { orgId, userIds } = await orgWithUsers(1);
  // A linger of an hour: the add can only resolve within the test's timeout if it leaves at once.
  const batcher = new MemberBatcher(gateway, () => 1, HOUR);
  await batcher.add(T, orgId, userIds[0]!);
  t.equal(memberCalls(orgId).length, 1);
  t.same(await gateway.listMemberIds(orgId, T), userIds);
});

t.test('a batch leaves as soon as every running job of the tenant has joined it', async (t) => {
  const { orgId, userIds } = await orgWithUsers(3);
  const batcher = new MemberBatcher(gateway, () => 3, HOUR);
  await Promise.all(userIds.map((id) => batcher.add(T, orgId, id)));
  t.equal(memberCalls(orgId).length, 1, 'three adds, one call');
  t.same((await gateway.listMemberIds(orgId, T)).sort(), [...userIds].sort());
});

t.test('a batch waits its linger for jobs that may still join, and never exceeds ten members', async (t) => {
  const { orgId, userIds } = await orgWithUsers(12);
  const batcher = new MemberBatcher(gateway, () => 20, 50);
  const started = Date.now();
  await Promise.all(userIds.map((id) => batcher.add(T, orgId, id)));
  t.equal(memberCalls(orgId).length, 2, 'twelve adds: a full batch of ten at once, the other two after the linger');
  t.ok(Date.now() - started >= 45, 'the partial batch waited for its linger');
  t.equal((await gateway.listMemberIds(orgId, T)).length, 12);
});

t.test('an Auth0 error reaches every job of the batch', async (t) => {
  const { orgId, userIds } = await orgWithUsers(2);
  emu.emulator.injectFault('POST /organizations/{id}/members', { errorRate: 1, errorStatus: 400 });
  t.teardown(() => emu.emulator.clearFaults());
  const batcher = new MemberBatcher(gateway, () => 2, HOUR);
  const results = await Promise.allSettled(userIds.map((id) => batcher.add(T, orgId, id)));
  t.same(results.map((r) => r.status), ['rejected', 'rejected']);
});
