import { sql } from 'kysely';
import t from 'tap';
import { bindTenant } from '../../src/sync/binding.js';
import { USER_URN } from '../helpers/app.js';
import { syncHarness, type SyncHarness } from '../helpers/sync.js';

/**
 * Counts the statements the pool's connections run (BEGIN and COMMIT included) while `fn` runs. The sync
 * worker shares the pool in this harness: it is stopped before anything is counted.
 */
async function statementsOf(h: SyncHarness, fn: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const counted = new WeakSet<object>();
  const count = (client: { query: (...args: unknown[]) => unknown }) => {
    if (counted.has(client)) return;
    counted.add(client);
    const query = client.query.bind(client);
    client.query = (...args: unknown[]) => {
      if (active) n++;
      return query(...args);
    };
  };
  let active = true;
  const onAcquire = (client: unknown) => count(client as never);
  h.database.pool.on('acquire', onAcquire);
  try {
    await fn();
  } finally {
    active = false;
    h.database.pool.off('acquire', onAcquire);
  }
  return n;
}

const user = (userName: string, extra: Record<string, unknown> = {}) => ({ schemas: [USER_URN], userName, emails: [{ value: userName, primary: true }], ...extra });

async function syncRows(h: SyncHarness, userId: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from user_sync where tenant_id = ${h.tenantId} and user_id = ${userId}`.execute(h.database.db);
  return Number(rows[0]!.n);
}

t.test('a tenant that does not sync to Auth0 writes a user in one statement: POST, PUT and DELETE cost what a GET does', async (t) => {
  const h = await syncHarness(t);
  await h.worker.stop();
  // The harness caches no token, so every request also looks its token up: a GET is that plus one read.
  const warmup = (await h.scim.json('POST', '/Users', user('warmup@example.com'))).body.id as string;
  const get = await statementsOf(h, async () => t.equal((await h.scim.json('GET', `/Users/${warmup}`)).status, 200));
  let id = '';
  const post = await statementsOf(h, async () => {
    const res = await h.scim.json('POST', '/Users', user('ann@example.com'));
    t.equal(res.status, 201);
    id = res.body.id;
  });
  const put = await statementsOf(h, async () => t.equal((await h.scim.json('PUT', `/Users/${id}`, user('ann@example.com', { displayName: 'Ann' }))).status, 200));
  const del = await statementsOf(h, async () => t.equal((await h.scim.json('DELETE', `/Users/${id}`)).status, 204));
  t.same({ post, put, del }, { post: get, put: get, del: get }, `the token lookup and one statement each (a GET: ${get})`);
  t.equal((await h.scim.json('PUT', `/Users/${id}`, user('ann@example.com'))).status, 404, 'a PUT of a user that is gone is still a 404');
  await h.scim.json('POST', '/Users', user('bob@example.com'));
  t.equal((await h.scim.json('POST', '/Users', user('BOB@example.com'))).body.scimType, 'uniqueness', 'a taken userName is still a 409');
});

t.test('a tenant bound by another process after this one saw it unbound: the writes still reach the sync', async (t) => {
  const h = await syncHarness(t);
  const ann = (await h.scim.json('POST', '/Users', user('ann@example.com'))).body.id as string;
  t.equal(await syncRows(h, ann), 0, 'unbound: nothing for the sync');
  // Bound directly in the database, as another replica or the CLI would: this process still believes the
  // tenant unbound, and only the statement's own check can tell.
  await bindTenant(h.database.db, h.queue, h.tenantId, {
    binding: { organization: { name: 'acme' }, connections: [{ id: h.emulator.connections.database.id, name: h.emulator.connections.database.name, mode: 'database' }] },
  }, h.secrets);
  const bob = (await h.scim.json('POST', '/Users', user('bob@example.com'))).body.id as string;
  t.equal(await syncRows(h, bob), 1, 'the POST after the bind was marked for the sync');
  const carl = (await h.scim.json('POST', '/Users', user('carl@example.com'))).body.id as string;
  await h.settle();
  t.ok(h.auth0User('ann@example.com'), 'the user from before the bind was imported by the bind');
  t.ok(h.auth0User('bob@example.com'), 'the user created after the bind reached Auth0');
  t.ok(h.auth0User('carl@example.com'));
  await h.worker.stop();
  const get = await statementsOf(h, async () => t.equal((await h.scim.json('GET', `/Users/${carl}`)).status, 200));
  const put = await statementsOf(h, async () => t.equal((await h.scim.json('PUT', `/Users/${carl}`, user('carl@example.com', { active: false }))).status, 200));
  // The token lookup, the binding check, then BEGIN, the write, the sync mark, the job and COMMIT.
  t.equal(put, get - 1 + 6, `once this process has seen the tenant bound, its writes skip the unbound attempt (${put} statements)`);
  const { rows: carlSync } = await sql<{ status: string }>`select status from user_sync where tenant_id = ${h.tenantId} and user_id = ${carl}`.execute(h.database.db);
  t.equal(carlSync[0]?.status, 'pending', 'the PUT marked the user for the sync again');
  t.equal((await h.scim.json('DELETE', `/Users/${bob}`)).status, 204);
  const { rows } = await sql<{ deleted_at: Date | null }>`select deleted_at from user_sync where tenant_id = ${h.tenantId} and user_id = ${bob}`.execute(h.database.db);
  t.ok(rows[0]?.deleted_at, 'the DELETE left its tombstone for deprovisioning');
});
