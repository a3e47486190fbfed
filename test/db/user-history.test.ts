import { pino } from 'pino';
import t from 'tap';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { createTenant } from '../../src/admin/tenants.js';
import { forgetUser } from '../../src/db/overrides.js';
import { deleteTenant } from '../../src/db/tenants.js';
import { insertUserHistory, listUserHistory, pruneUserHistory, type NewUserHistoryEntry } from '../../src/db/user-history.js';
import { ScimRequestPruner } from '../../src/scim/audit-trail.js';
import { testDatabase } from '../helpers/db.js';

const DAY = 86_400_000;

function entry(tenantId: string, userId: string | null, at: Date, extra: Partial<NewUserHistoryEntry> = {}): NewUserHistoryEntry {
  return {
    tenantId, userId, auth0UserId: null, kind: 'sync', at, outcome: 'synced', detail: null, durationMs: 12, attempt: 1, facts: null,
    calls: [{ operation: 'GET /api/v2/users/{id}', status: 200, failure: null, durationMs: 5, atMs: 1 }], callsOmitted: 0, ...extra,
  };
}

async function count(db: Parameters<typeof insertUserHistory>[0], tenantId?: string): Promise<number> {
  const { rows } = tenantId
    ? await sql<{ n: string }>`select count(*) as n from user_history where tenant_id = ${tenantId}`.execute(db)
    : await sql<{ n: string }>`select count(*) as n from user_history`.execute(db);
  return Number(rows[0]!.n);
}

t.test('a user\'s history: its runs and decisions newest first, and logins of its Auth0 user from before the directory knew it', async (t) => {
  const { db } = await testDatabase(t);
  const { tenant } = await createTenant(db, { name: 'acme' });
  const [alice, bob] = [uuidv7(), uuidv7()];
  await sql`insert into user_sync (tenant_id, user_id, status, changed_at, auth0_user_id) values (${tenant.id}, ${alice}, 'synced', now(), 'oidc|alice')`.execute(db);
  const now = Date.now();
  const stored = await insertUserHistory(db, [
    entry(tenant.id, null, new Date(now - 3000), { kind: 'login', auth0UserId: 'oidc|alice', outcome: 'denied', detail: 'not assigned', attempt: null, calls: [] }),
    entry(tenant.id, alice, new Date(now - 2000), { auth0UserId: 'oidc|alice', facts: { retry: 'queued' }, outcome: 'failed', detail: 'boom' }),
    entry(tenant.id, alice, new Date(now - 1000), { kind: 'login', auth0UserId: 'oidc|alice', outcome: 'allowed', attempt: null }),
    entry(tenant.id, bob, new Date(now - 500)),
    entry(tenant.id, null, new Date(now - 400), { kind: 'login', auth0UserId: 'oidc|mallory', outcome: 'denied' }),
  ]);
  t.equal(stored, 5);
  const history = await listUserHistory(db, tenant.id, alice, 10);
  t.same(history.map((h) => `${h.kind} ${h.outcome}`), ['login allowed', 'sync failed', 'login denied']);
  t.match(history[1], { facts: { retry: 'queued' }, detail: 'boom', calls: [{ operation: 'GET /api/v2/users/{id}', status: 200 }], callsOmitted: 0 });
  t.same(history[2]!.calls, [], 'a decision without calls');
  t.same((await listUserHistory(db, tenant.id, alice, 1)).map((h) => h.outcome), ['allowed', 'denied'], 'the limit bounds each source (the timeline cuts the merge)');
  t.same((await listUserHistory(db, tenant.id, bob, 10)).map((h) => h.outcome), ['synced'], 'bob has no Auth0 id: no unattributed login is his');
});

t.test('rows of a deleted tenant are not stored; deleting a tenant or erasing a user deletes theirs', async (t) => {
  const { db } = await testDatabase(t);
  const { tenant: acme } = await createTenant(db, { name: 'acme' });
  const { tenant: globex } = await createTenant(db, { name: 'globex' });
  const [alice, bob] = [uuidv7(), uuidv7()];
  await sql`insert into user_sync (tenant_id, user_id, status, changed_at, auth0_user_id) values (${acme.id}, ${alice}, 'synced', now(), 'oidc|alice')`.execute(db);
  const at = new Date();
  t.equal(await insertUserHistory(db, [
    entry(acme.id, alice, at), entry(acme.id, bob, at), entry(globex.id, alice, at),
    entry(acme.id, null, at, { kind: 'login', auth0UserId: 'oidc|alice', outcome: 'denied' }),
    entry(uuidv7(), alice, at),
  ]), 4, 'the row of an unknown tenant is left out, the batch stored');

  await forgetUser(db, acme.id, alice);
  const left = await sql<{ user_id: string | null; tenant_id: string }>`select user_id, tenant_id from user_history order by id`.execute(db);
  t.same(left.rows.map((r) => [r.tenant_id === acme.id ? 'acme' : 'globex', r.user_id === bob ? 'bob' : r.user_id === alice ? 'alice' : r.user_id]),
    [['acme', 'bob'], ['globex', 'alice']], 'erasing alice in acme deletes her runs and her unattributed logins there, nothing else');

  t.ok(await deleteTenant(db, acme.id));
  t.equal(await count(db, acme.id), 0, 'the deleted tenant\'s history is gone');
  t.equal(await count(db, globex.id), 1, 'another tenant\'s stays');
});

t.test('pruning deletes history past the retention with the SCIM request trail, in batches', async (t) => {
  const { db } = await testDatabase(t);
  const { tenant } = await createTenant(db, { name: 'acme' });
  const now = Date.now();
  const user = uuidv7();
  await insertUserHistory(db, [
    ...Array.from({ length: 5 }, () => entry(tenant.id, user, new Date(now - 40 * DAY))),
    entry(tenant.id, user, new Date(now - 29 * DAY)), entry(tenant.id, user, new Date(now - 60_000)),
  ]);
  t.equal(await pruneUserHistory(db, new Date(now - 39 * DAY), 2), 5, 'batches of 2 until none is left');
  t.equal(await count(db), 2);

  const pruner = new ScimRequestPruner({ db, logger: pino({ level: 'silent' }), retentionDays: 28, holder: 'replica-a' });
  t.equal(await pruner.runOnce(), 1, 'SCIM_AUDIT_RETENTION_DAYS prunes the history too');
  t.same((await listUserHistory(db, tenant.id, user, 10)).map((h) => Math.round((now - h.at.getTime()) / DAY)), [0]);
  await pruner.stop();
});
