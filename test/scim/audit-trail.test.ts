import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import t from 'tap';
import type { Database } from '../../src/db/schema.js';
import type { NewScimRequest } from '../../src/db/scim-requests.js';
import { createMetrics } from '../../src/metrics.js';
import { ScimRequestRecorder } from '../../src/scim/audit-trail.js';
import { summarizeWrite } from '../../src/scim/audit-summary.js';
import { createUser, ENTERPRISE_URN, GROUP_URN, testApp, USER_URN, type TestApp } from '../helpers/app.js';
import { testDatabase } from '../helpers/db.js';
import { operator } from '../helpers/admin.js';
import { createTenant } from '../../src/admin/tenants.js';

const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const silent = pino({ level: 'silent' });

/** Every stored request of the database, oldest first, after writing what the app buffered. */
async function trail(h: TestApp) {
  await h.app.scimAudit!.flush();
  return h.database.db.selectFrom('scim_requests').selectAll().orderBy('id').execute();
}

async function ids(h: TestApp, tenant: string) {
  const row = await h.database.db.selectFrom('tenants').innerJoin('scim_tokens', 'scim_tokens.tenant_id', 'tenants.id')
    .select(['tenants.id as tenantId', 'scim_tokens.id as tokenId']).where('tenants.name', '=', tenant).executeTakeFirstOrThrow();
  return row;
}

/** A write's record by default: writes are always listed, whatever the reads budget. */
function entry(tenantId: string, extra: Partial<NewScimRequest> = {}): NewScimRequest {
  return {
    tenantId, tenantName: null, at: new Date(), tokenId: null, sourceIp: '192.0.2.1', method: 'PUT', path: '/scim/v2/acme/Users', status: 200,
    latencyMs: 1.5, dialect: 'generic', resourceType: 'User', resourceId: null, scimType: null, errorDetail: null, summary: null, ...extra,
  };
}

t.test('a created user is recorded with its id, token, address and a summary without the password', async (t) => {
  const h = await testApp(t);
  const { tenantId, tokenId } = await ids(h, 'acme');
  const res = await h.scim.json('POST', '/Users', {
    schemas: [USER_URN, ENTERPRISE_URN], userName: 'alice@example.com', externalId: 'ext-1', active: true, password: 'hunter2-Secret!',
    name: { givenName: 'Alice' }, emails: [{ value: 'alice@example.com', primary: true }], [ENTERPRISE_URN]: { employeeNumber: '7' },
  }, { 'user-agent': 'Okta SCIM Client 1.0.0' });
  t.equal(res.status, 201);
  const [row, ...rest] = await trail(h);
  t.equal(rest.length, 0);
  t.match(row, {
    tenant_id: tenantId, token_id: tokenId, source_ip: '127.0.0.1', method: 'POST', path: '/scim/v2/acme/Users', status: 201,
    dialect: 'okta', resource_type: 'User', resource_id: res.body.id, scim_type: null, error_detail: null,
  });
  t.equal(row!.summary, 'userName=alice@example.com externalId=ext-1 active=true attrs=password,name,emails,enterprise');
  t.notMatch(JSON.stringify(row), /hunter2/, 'the password value is stored nowhere');
  t.ok(row!.latency_ms! >= 0 && row!.at instanceof Date);
});

t.test('PATCH, client errors and the query string are recorded with scimType and detail', async (t) => {
  const h = await testApp(t);
  const id = await createUser(h.scim, 'bob@example.com');
  const patched = await h.scim.json('PATCH', `/Users/${id}`, {
    schemas: [PATCH_URN], Operations: [{ op: 'replace', path: 'active', value: false }, { op: 'add', path: 'emails', value: [{ value: 'b@x.test' }, { value: 'c@x.test' }] }, { op: 'replace', value: { displayName: 'Bob', nickName: 'bobby' } }, { op: 'replace', path: 'password', value: 's3cr3t' }],
  });
  t.equal(patched.status, 200);
  const duplicate = await h.scim.json('POST', '/Users', { schemas: [USER_URN], userName: 'bob@example.com' });
  t.equal(duplicate.status, 409);
  const badFilter = await h.scim.json('GET', '/Users?filter=userName%20zz%20%22x%22&count=5');
  t.equal(badFilter.status, 400);
  const rows = (await trail(h)).slice(1);
  t.match(rows[0], { method: 'PATCH', status: 200, resource_type: 'User', resource_id: id, summary: 'ops: replace active; add emails(2); replace (displayName,nickName); replace password' });
  t.notMatch(rows[0]!.summary, /s3cr3t|b@x\.test|bobby/);
  t.match(rows[1], { method: 'POST', status: 409, scim_type: 'uniqueness', error_detail: duplicate.body.detail, summary: 'userName=bob@example.com' });
  t.match(rows[2], { method: 'GET', status: 400, scim_type: 'invalidFilter', path: '/scim/v2/acme/Users?filter=userName%20zz%20%22x%22&count=5', resource_id: null });
  t.equal(rows[2]!.error_detail, badFilter.body.detail);
});

t.test('a wrong token is recorded on an existing tenant without a token id; unknown tenants and anonymous discovery are not', async (t) => {
  const h = await testApp(t);
  const { tenantId } = await ids(h, 'acme');
  const other = await h.tenant('other');
  t.equal((await h.client('acme', 'prv_wrong').json('GET', '/Users')).status, 401);
  t.equal((await h.client('acme', other.token).json('GET', '/Groups')).status, 401, "another tenant's token");
  t.equal((await h.client('nobody', 'prv_wrong').json('GET', '/Users')).status, 401);
  t.equal((await h.app.inject({ method: 'GET', url: '/scim/v2/acme/ServiceProviderConfig' })).statusCode, 200);
  const rows = await trail(h);
  t.equal(rows.length, 2);
  t.match(rows, [
    { tenant_id: tenantId, token_id: null, status: 401, path: '/scim/v2/acme/Users', error_detail: /not valid|token/i },
    { tenant_id: tenantId, token_id: null, status: 401, resource_type: 'Group' },
  ]);
});

t.test('groups, bulk and search: summaries by resource type', async (t) => {
  const h = await testApp(t);
  const alice = await createUser(h.scim, 'alice');
  t.equal((await h.scim.json('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Team', members: [{ value: alice }] })).status, 201);
  const bulk = await h.scim.json('POST', '/Bulk', {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
    Operations: [{ method: 'POST', path: '/Users', bulkId: 'a', data: { schemas: [USER_URN], userName: 'x', password: 'pw-value' } }, { method: 'POST', path: '/Users', bulkId: 'b', data: { schemas: [USER_URN], userName: 'y' } }],
  });
  t.equal(bulk.status, 200);
  t.equal((await h.scim.json('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName eq "x"' })).status, 200);
  const rows = (await trail(h)).slice(1);
  t.match(rows, [
    { resource_type: 'Group', summary: 'displayName=Team members=1' },
    { resource_type: 'Bulk', summary: 'operations=2: POST Users×2', resource_id: null },
    { resource_type: null, summary: null, method: 'POST', path: '/scim/v2/acme/Users/.search' },
  ]);
  t.notMatch(JSON.stringify(rows), /pw-value/);
});

t.test('summaries never show secret-named values and stay under 500 characters', async (t) => {
  t.equal(summarizeWrite('User', 'POST', { userName: 'u', userPassword: 'p1', apiToken: 'p2', clientSecret: 'p3' }), 'userName=u attrs=userPassword,apiToken,clientSecret');
  t.equal(summarizeWrite('User', 'GET', { userName: 'u' }), undefined);
  t.equal(summarizeWrite('Schemas', 'POST', { userName: 'u' }), undefined);
  t.equal(summarizeWrite('User', 'POST', 'not an object'), undefined);
  const many = summarizeWrite('Group', 'PATCH', { Operations: Array.from({ length: 300 }, () => ({ op: 'add', path: 'members', value: [{ value: 'x' }] })) })!;
  t.ok(many.length <= 500, `${many.length} characters`);
  t.match(many, /^ops: add members\(1\); add members\(1\)/);
  t.equal(summarizeWrite('User', 'PUT', { userName: 'x'.repeat(300) })!.length, 'userName='.length + 100);
});

t.test('the recorder writes on close, batches at 500, and flushes on its timer', async (t) => {
  const database = await testDatabase(t);
  const { id: tenantId } = await database.db.insertInto('tenants').values({ id: '0190d4a6-0000-7000-8000-000000000001', name: 'acme', display_name: 'acme' }).returning('id').executeTakeFirstOrThrow();
  const count = async () => Number((await database.db.selectFrom('scim_requests').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  const closing = new ScimRequestRecorder({ db: database.db, logger: silent, flushMs: 60_000 });
  for (let i = 0; i < 3; i++) closing.record(entry(tenantId));
  t.equal(await count(), 0, 'nothing written before the timer');
  await closing.close();
  t.equal(await count(), 3, 'close() writes what is left');
  closing.record(entry(tenantId));
  t.same(closing.counts(), { written: 3, dropped: 1, buffered: 0 }, 'records after close are dropped');

  const batching = new ScimRequestRecorder({ db: database.db, logger: silent, flushMs: 60_000, batchSize: 500 });
  for (let i = 0; i < 501; i++) batching.record(entry(tenantId, { status: i }));
  t.equal(batching.counts().buffered, 1, 'a full batch left the buffer at once');
  await batching.flush();
  t.equal(await count(), 504);
  const statuses = (await database.db.selectFrom('scim_requests').select('status').orderBy('id').execute()).slice(3).map((r) => r.status);
  t.same(statuses, Array.from({ length: 501 }, (_, i) => i), 'ids follow the order of recording');

  const timed = new ScimRequestRecorder({ db: database.db, logger: silent, flushMs: 5 });
  timed.record(entry(tenantId));
  const deadline = Date.now() + 10_000;
  while (timed.counts().written === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  t.equal(timed.counts().written, 1, 'the timer wrote the record without a flush()');

  const unknown = new ScimRequestRecorder({ db: database.db, logger: silent });
  unknown.record(entry('0190d4a6-0000-7000-8000-0000000000ff'));
  unknown.record({ ...entry(tenantId), tenantId: null, tenantName: 'nope' });
  unknown.record({ ...entry(tenantId), tenantId: null, tenantName: 'acme', path: 'by-name' });
  await unknown.flush();
  t.same(unknown.counts(), { written: 1, dropped: 0, buffered: 0 }, 'rows of unknown tenants are skipped, not failing the batch');
  t.equal((await database.db.selectFrom('scim_requests').select('path').orderBy('id', 'desc').executeTakeFirstOrThrow()).path, 'by-name');
});

t.test('with the database unreachable records are dropped and counted, never blocking or throwing', async (t) => {
  // Nothing listens on port 1: every connection attempt is refused at once.
  const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/test', connectionTimeoutMillis: 2000 });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  t.teardown(() => db.destroy());
  const metrics = createMetrics({ db });
  const warnings: string[] = [];
  const logger = { info: () => undefined, error: () => undefined, warn: (_: object, msg: string) => void warnings.push(msg) };
  const recorder = new ScimRequestRecorder({ db, logger, metrics, capacity: 5, batchSize: 100, flushMs: 60_000 });
  const started = process.hrtime.bigint();
  for (let i = 0; i < 8; i++) recorder.record(entry('0190d4a6-0000-7000-8000-000000000001'));
  t.ok(process.hrtime.bigint() - started < 50_000_000n, 'record() returns at once');
  t.same(recorder.counts(), { written: 0, dropped: 3, buffered: 5 }, 'beyond the capacity records are dropped');
  await recorder.flush();
  t.same(recorder.counts(), { written: 0, dropped: 8, buffered: 0 }, 'a failed batch is dropped, not retried');
  for (let i = 0; i < 3; i++) {
    recorder.record(entry('0190d4a6-0000-7000-8000-000000000001'));
    await recorder.flush();
  }
  t.equal(warnings.length, 1, 'one warning per interval, not one per failed batch');
  t.match(warnings[0], /database unavailable/);
  const scrape = await metrics.registry.metrics();
  t.match(scrape, /provisio_scim_audit_records_total\{outcome="dropped"\} 11/);
  t.match(scrape, /provisio_scim_audit_buffered 0/);
});

t.test('SCIM_AUDIT=off records nothing', async (t) => {
  const h = await testApp(t, { SCIM_AUDIT: 'off' });
  t.equal(h.app.scimAudit, null);
  await createUser(h.scim, 'alice');
  t.equal((await h.database.db.selectFrom('scim_requests').selectAll().execute()).length, 0);
});

t.test('successful reads beyond the per-second budget are counted in one row; writes and refusals are always listed', async (t) => {
  const database = await testDatabase(t);
  const { tenant } = await createTenant(database.db, { name: 'acme' });
  const { tenant: other } = await createTenant(database.db, { name: 'other' });
  const recorder = new ScimRequestRecorder({ db: database.db, logger: silent, flushMs: 60_000, readsPerSecond: 3 });
  // Within one second (a second boundary mid-loop only moves the split: the totals below hold either way).
  for (let i = 0; i < 10; i++) recorder.record(entry(tenant.id, { method: 'GET' }));
  for (let i = 0; i < 2; i++) recorder.record(entry(tenant.id, { method: 'GET', status: 404 }));
  recorder.record(entry(tenant.id, { method: 'POST', path: '/scim/v2/acme/.search', resourceType: null }));
  for (let i = 0; i < 5; i++) recorder.record(entry(tenant.id, { method: 'PATCH' }));
  recorder.record(entry(other.id, { method: 'GET' }));
  await recorder.flush();
  const rows = await database.db.selectFrom('scim_requests').select(['tenant_id', 'method', 'status', 'requests', 'summary']).orderBy('id').execute();
  const acme = rows.filter((r) => r.tenant_id === tenant.id);
  t.equal(acme.reduce((n, r) => n + r.requests, 0), 18, 'every request is counted');
  t.equal(acme.filter((r) => r.method === 'PATCH').length, 5, 'writes are all listed');
  t.equal(acme.filter((r) => r.status === 404).length, 2, 'refusals are all listed');
  const counted = acme.filter((r) => r.requests > 1);
  t.ok(counted.length >= 1 && counted.length <= 2, 'the reads over the budget became one counting row (two across a second boundary)');
  t.match(counted[0]?.summary, /successful reads, counted but not listed \(over SCIM_AUDIT_READS_PER_SECOND=3\)/);
  t.ok(acme.filter((r) => r.requests === 1 && r.status === 200 && r.method !== 'PATCH').length <= 6, 'at most the budget listed per second');
  t.same(rows.filter((r) => r.tenant_id === other.id).map((r) => r.requests), [1], 'each tenant has its own budget');
  const h = await testApp(t, { SCIM_AUDIT_READS_PER_SECOND: '0' });
  for (let i = 0; i < 3; i++) await h.scim.json('GET', '/Users');
  await h.app.scimAudit!.flush();
  const stats = await (await operator(h.app, h.database))('GET', '/tenants/acme/scim-requests/stats?hours=1');
  t.equal(stats.body.total, 3, 'the stats count counted reads too');
});
