import { pino } from 'pino';
import t from 'tap';
import { insertScimRequests, pruneScimRequests, type NewScimRequest } from '../../src/db/scim-requests.js';
import { createTenant } from '../../src/admin/tenants.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createMetrics } from '../../src/metrics.js';
import { ScimRequestPruner } from '../../src/scim/audit-trail.js';
import { operator, orgAdmin } from '../helpers/admin.js';
import { createUser, testApp } from '../helpers/app.js';
import { testDatabase } from '../helpers/db.js';

const silent = pino({ level: 'silent' });
const MINUTE = 60_000;

function entry(tenantId: string, at: Date, status = 200): NewScimRequest {
  return {
    tenantId, tenantName: null, at, tokenId: null, sourceIp: '192.0.2.1', method: 'GET', path: '/scim/v2/acme/Users', status,
    latencyMs: 2.5, dialect: 'generic', resourceType: 'User', resourceId: null, scimType: null, errorDetail: null, summary: null,
  };
}

async function tenantIds(h: Awaited<ReturnType<typeof testApp>>) {
  const rows = await h.database.db.selectFrom('tenants').select(['id', 'name']).execute();
  return Object.fromEntries(rows.map((r) => [r.name, r.id]));
}

t.test('pages newest first with a cursor for older entries, and polls oldest first after a cursor', async (t) => {
  const h = await testApp(t);
  const admin = await operator(h.app, h.database);
  for (const name of ['u1', 'u2', 'u3', 'u4', 'u5']) await createUser(h.scim, name);
  t.equal((await h.scim.json('GET', '/Users/00000000-0000-7000-8000-000000000000')).status, 404);
  await h.app.scimAudit!.flush();

  const first = await admin('GET', '/tenants/acme/scim-requests?limit=4');
  t.equal(first.status, 200);
  t.equal(first.body.requests.length, 4);
  t.match(first.body.requests[0], {
    id: /^\d+$/, at: /^\d{4}-\d\d-\d\dT/, tokenId: /^[0-9a-f-]{36}$/, sourceIp: '127.0.0.1', method: 'GET', path: '/scim/v2/acme/Users/00000000-0000-7000-8000-000000000000',
    status: 404, latencyMs: Number, dialect: 'generic', resourceType: 'User', resourceId: '00000000-0000-7000-8000-000000000000', scimType: null, errorDetail: String, summary: null,
  });
  t.match(first.body.requests[1], { method: 'POST', status: 201, summary: 'userName=u5', resourceId: /^[0-9a-f-]{36}$/ });
  const ids = first.body.requests.map((r: { id: string }) => BigInt(r.id));
  t.ok(ids.every((id: bigint, i: number) => i === 0 || id < ids[i - 1]), 'newest first');
  t.equal(first.body.next, first.body.requests[3].id);

  const second = await admin('GET', `/tenants/acme/scim-requests?limit=4&before=${first.body.next}`);
  t.same(second.body.requests.map((r: { summary: string }) => r.summary), ['userName=u1', 'userName=u2'].reverse());
  t.equal(second.body.next, null, 'no older page');

  const errors = await admin('GET', '/tenants/acme/scim-requests?errors=true');
  t.same(errors.body.requests.map((r: { status: number }) => r.status), [404]);

  const oldest = second.body.requests[1].id;
  const polled = await admin('GET', `/tenants/acme/scim-requests?after=${oldest}&limit=2`);
  t.same(polled.body.requests.map((r: { summary: string }) => r.summary), ['userName=u2', 'userName=u3'], 'oldest first after the cursor');
  t.equal(polled.body.next, polled.body.requests[1].id);
  const newest = first.body.requests[0].id;
  const idle = await admin('GET', `/tenants/acme/scim-requests?after=${newest}`);
  t.same(idle.body, { requests: [], next: newest }, 'nothing new: next stays the cursor given');
  await createUser(h.scim, 'u6');
  await h.app.scimAudit!.flush();
  const fresh = await admin('GET', `/tenants/acme/scim-requests?after=${idle.body.next}`);
  t.same(fresh.body.requests.map((r: { summary: string }) => r.summary), ['userName=u6']);

  for (const query of ['limit=0', 'limit=201', 'before=abc', 'after=-1', 'after=1234567890123456789']) {
    t.equal((await admin('GET', `/tenants/acme/scim-requests?${query}`)).status, 400, query);
  }
  t.equal((await admin('GET', '/tenants/nope/scim-requests')).status, 404);
});

t.test('an org admin reads its own tenant only', async (t) => {
  const h = await testApp(t);
  const other = await h.tenant('other');
  await createUser(other, 'x');
  await h.app.scimAudit!.flush();
  const ids = await tenantIds(h);
  const acmeAdmin = await orgAdmin(h.app, h.database, { id: ids.acme!, name: 'acme' });
  const otherAdmin = await orgAdmin(h.app, h.database, { id: ids.other!, name: 'other' });
  t.equal((await acmeAdmin('GET', '/tenants/other/scim-requests')).status, 403);
  t.equal((await acmeAdmin('GET', '/tenants/other/scim-requests/stats')).status, 403);
  t.same((await acmeAdmin('GET', '/tenants/acme/scim-requests')).body, { requests: [], next: null });
  const own = await otherAdmin('GET', '/tenants/other/scim-requests');
  t.equal(own.status, 200);
  t.equal(own.body.requests.length, 1);
});

t.test('deleting a tenant deletes its trail, and a batch for a tenant deleted meanwhile stores nothing', async (t) => {
  const h = await testApp(t);
  const other = await h.tenant('other');
  await createUser(h.scim, 'kept');
  await createUser(other, 'gone');
  await h.app.scimAudit!.flush();
  const ids = await tenantIds(h);
  const admin = await operator(h.app, h.database);
  t.equal((await admin('DELETE', '/tenants/other')).status, 204);
  const left = await h.database.db.selectFrom('scim_requests').select('tenant_id').execute();
  t.ok(left.length > 0 && left.every((r) => r.tenant_id === ids.acme), 'only the remaining tenant\'s requests are left');
  t.equal(await insertScimRequests(h.database.db, [entry(ids.other!, new Date()), entry(ids.acme!, new Date())]), 1, 'the gone tenant\'s row is dropped, the batch is not');
});

t.test('stats: totals, errors and per-minute buckets of the window, and the last request', async (t) => {
  const h = await testApp(t);
  const admin = await operator(h.app, h.database);
  const { acme } = await tenantIds(h);
  const now = Date.now();
  const minute = (ago: number) => new Date(Math.floor(now / MINUTE) * MINUTE - ago * MINUTE + 1000);
  await insertScimRequests(h.database.db, [
    entry(acme!, new Date(now - 30 * 60 * MINUTE)),
    entry(acme!, minute(5)), entry(acme!, minute(5), 409), entry(acme!, minute(5)),
    entry(acme!, minute(2), 500), entry(acme!, minute(2)),
  ]);
  const res = await admin('GET', '/tenants/acme/scim-requests/stats?hours=24');
  t.equal(res.status, 200);
  t.same(res.body, {
    total: 5, errors: 2, lastAt: minute(2).toISOString(),
    perMinute: [
      { minute: new Date(minute(5).getTime() - 1000).toISOString(), requests: 3, errors: 1 },
      { minute: new Date(minute(2).getTime() - 1000).toISOString(), requests: 2, errors: 1 },
    ],
  });
  t.same((await admin('GET', '/tenants/acme/scim-requests/stats?hours=48')).body.total, 6);
  t.equal((await admin('GET', '/tenants/acme/scim-requests/stats?hours=169')).status, 400);
  const empty = await h.tenant('empty');
  t.ok(empty);
  t.same((await admin('GET', '/tenants/empty/scim-requests/stats')).body, { total: 0, errors: 0, lastAt: null, perMinute: [] });
});

t.test('pruning deletes rows past the retention only, in batches, in the replica holding the lease', async (t) => {
  const h = await testApp(t);
  const { acme } = await tenantIds(h);
  const day = 86_400_000;
  const now = Date.now();
  await insertScimRequests(h.database.db, [
    ...Array.from({ length: 5 }, () => entry(acme!, new Date(now - 40 * day))),
    entry(acme!, new Date(now - 29 * day)), entry(acme!, new Date(now - 60_000)),
  ]);
  const left = async () => (await h.database.db.selectFrom('scim_requests').select('at').orderBy('at').execute()).map((r) => Math.round((now - r.at.getTime()) / day));

  t.equal(await pruneScimRequests(h.database.db, new Date(now - 39 * day), 2), 5, 'batches of 2 until none is left');
  t.same(await left(), [29, 0]);

  const pruner = new ScimRequestPruner({ db: h.database.db, logger: silent, retentionDays: 28, holder: 'replica-a' });
  const standby = new ScimRequestPruner({ db: h.database.db, logger: silent, retentionDays: 28, holder: 'replica-b' });
  t.equal(await pruner.runOnce(), 1);
  t.equal(await standby.runOnce(), undefined, 'another replica holds the lease');
  t.same(await left(), [0]);
  await pruner.stop();
  t.equal(await standby.runOnce(), 0, 'a stopped pruner gives the lease up');
  await standby.stop();
});

t.test('/metrics counts written records; the OpenAPI document lists the routes', async (t) => {
  const database = await testDatabase(t);
  const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent' }), database, logger: silent, metrics: createMetrics({ db: database.db }) });
  t.teardown(() => app.close());
  const { token } = await createTenant(database.db, { name: 'acme' });
  const created = await app.inject({ method: 'POST', url: '/scim/v2/acme/Users', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' }, payload: '{"userName":"alice"}' });
  t.equal(created.statusCode, 201);
  await app.scimAudit!.flush();
  const scrape = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(scrape, /provisio_scim_audit_records_total\{outcome="written"\} 1/);
  t.match(scrape, /provisio_scim_audit_buffered 0/);
  const spec = JSON.parse((await app.inject({ method: 'GET', url: '/docs/json' })).body);
  t.ok(spec.paths['/v1/admin/tenants/{tenant}/scim-requests']?.get);
  t.ok(spec.paths['/v1/admin/tenants/{tenant}/scim-requests/stats']?.get);
});
