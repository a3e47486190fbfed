import { pino } from 'pino';
import t from 'tap';
import { issueToken } from '../../src/admin/tokens.js';
import { createTenant } from '../../src/admin/tenants.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { parseBulkRequest, planBulk } from '../../src/scim/bulk.js';
import type { DirectoryEvents } from '../../src/sync/events.js';
import { createUser, GROUP_URN, testApp, USER_URN, type ScimClient } from '../helpers/app.js';
import { testDatabase } from '../helpers/db.js';

const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const BASE = 'http://localhost:80/scim/v2/acme';
const LIMITS = { maxOperations: 1000, maxPayloadBytes: 1_048_576 };

type Op = Record<string, unknown>;
/** An entry of Operations as sent, malformed ones included. */
type RawOp = Op | string;
type Result = { method?: string; bulkId?: string; version?: string; location?: string; status: string; response?: Record<string, any> };

const postUser = (bulkId: string, userName: string, extra: Op = {}): Op => ({ method: 'POST', path: '/Users', bulkId, data: { schemas: [USER_URN], userName, ...extra } });
const postGroup = (bulkId: string, displayName: string, members?: string[]): Op => ({
  method: 'POST', path: '/Groups', bulkId, data: { schemas: [GROUP_URN], displayName, ...(members ? { members: members.map((value) => ({ value })) } : {}) },
});

/** Sends a BulkRequest; asserts the 200 BulkResponse envelope and returns its results. */
async function bulk(t: Tap, scim: ScimClient, Operations: RawOp[], extra: Op = {}): Promise<Result[]> {
  const res = await scim.json('POST', '/Bulk', { schemas: [BULK_REQUEST], ...extra, Operations });
  t.equal(res.status, 200, 'the BulkResponse itself is a 200');
  t.match(res.headers['content-type'], /^application\/scim\+json/);
  t.same(res.body.schemas, [BULK_RESPONSE]);
  return res.body.Operations as Result[];
}
type Tap = Pick<typeof t, 'equal' | 'match' | 'same'>;

async function userNames(scim: ScimClient): Promise<string[]> {
  return (await scim.json('GET', '/Users?attributes=userName')).body.Resources.map((u: { userName: string }) => u.userName).sort();
}

t.test('a group whose members reference a user POSTed later: the user is created first', async (t) => {
  const { scim } = await testApp(t);
  const [group, user] = await bulk(t, scim, [postGroup('team', 'Team', ['bulkId:alice']), postUser('alice', 'alice')]);
  t.match(group, { method: 'POST', bulkId: 'team', status: '201', location: new RegExp(`^${BASE}/Groups/`), version: /^W\/"\d+"$/ });
  t.match(user, { method: 'POST', bulkId: 'alice', status: '201', location: new RegExp(`^${BASE}/Users/`) });
  t.notOk(group!.response, 'no body for a success');
  const got = await scim.json('GET', group!.location!.slice(BASE.length));
  t.equal(got.status, 200);
  t.equal(got.headers.etag, group!.version, 'version is the resource ETag');
  const aliceId = user!.location!.split('/').pop();
  t.same(got.body.members.map((m: { value: string }) => m.value), [aliceId], 'bulkId:alice became the new user id');
  t.same((await scim.json('GET', `/Users/${aliceId}`)).body.groups.map((g: { display: string }) => g.display), ['Team']);
});

t.test('a bulkId in a PATCH path, before the POST that defines it', async (t) => {
  const { scim } = await testApp(t);
  const results = await bulk(t, scim, [
    { method: 'PATCH', path: '/Groups/bulkId:team', data: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: 'bulkId:bob' }] }] } },
    postGroup('team', 'Team'),
    postUser('bob', 'bob'),
  ]);
  t.same(results.map((r) => r.status), ['200', '201', '201']);
  t.equal(results[0]!.location, results[1]!.location, 'the PATCH targets the group that POST created');
  t.equal(results[0]!.version, 'W/"2"', 'the PATCH reports the version it made');
  const group = await scim.json('GET', results[1]!.location!.slice(BASE.length));
  t.same(group.body.members.map((m: { display: string }) => m.display), ['bob']);
});

t.test('circular references are 409 naming the cycle; the other operations still run', async (t) => {
  const { scim } = await testApp(t);
  const results = await bulk(t, scim, [
    postGroup('a', 'A', ['bulkId:b']),
    postGroup('b', 'B', ['bulkId:a']),
    postUser('ok', 'carol'),
    postGroup('c', 'C', ['bulkId:a', 'bulkId:ok']),
    postGroup('self', 'Self', ['bulkId:self']),
  ]);
  t.same(results.map((r) => [r.bulkId, r.status]), [['a', '409'], ['b', '409'], ['ok', '201'], ['c', '409'], ['self', '409']]);
  t.match(results[0]!.response, { schemas: [ERROR_URN], status: '409', detail: /Circular bulkId references: a → b → a/ });
  t.match(results[1]!.response, { detail: /b → a → b/ });
  t.match(results[3]!.response, { detail: /bulkId "a" cannot be resolved: its POST failed with status 409/ }, 'a dependent of the cycle fails too, saying why');
  t.match(results[4]!.response, { detail: /self → self/ });
  t.notOk(results[0]!.location, 'no location for a failed POST');
  t.same((await scim.json('GET', '/Groups')).body.totalResults, 0, 'no group was written');
  t.same(await userNames(scim), ['carol']);
});

t.test('a bulkId no operation defines is a 409 for that operation', async (t) => {
  const { scim } = await testApp(t);
  const results = await bulk(t, scim, [postGroup('g', 'G', ['bulkId:ghost']), postUser('u', 'dave')]);
  t.match(results[0], { bulkId: 'g', status: '409', response: { status: '409', detail: /bulkId "ghost" cannot be resolved: no POST operation/ } });
  t.equal(results[1]!.status, '201');
});

t.test('per-operation 400s: bad method, path, data or missing bulkId; the rest succeed', async (t) => {
  const { scim } = await testApp(t);
  const results = await bulk(t, scim, [
    postUser('ok1', 'erin'),
    { method: 'GET', path: '/Users' },
    { method: 'POST', path: '/Widgets', bulkId: 'w', data: {} },
    { method: 'PUT', path: '/Users', data: { userName: 'x' } },
    { method: 'POST', path: '/Users', data: { schemas: [USER_URN], userName: 'nobulkid' } },
    { method: 'POST', path: '/Users', bulkId: 'nodata' },
    postUser('nouser', ''),
    'not an object',
    { ...postUser('ok2', 'frank'), method: 'post' },
  ]);
  t.same(results.map((r) => r.status), ['201', '400', '400', '400', '400', '400', '400', '400', '201']);
  t.match(results[1], { method: 'GET', response: { scimType: 'invalidSyntax', detail: /"method" must be one of/ } });
  t.match(results[2]!.response, { scimType: 'invalidPath' });
  t.match(results[3]!.response, { scimType: 'invalidPath', detail: /names one resource/ });
  t.match(results[4]!.response, { scimType: 'invalidSyntax', detail: /needs a "bulkId"/ });
  t.match(results[5]!.response, { scimType: 'invalidSyntax', detail: /needs "data"/ });
  t.match(results[6]!.response, { status: '400', scimType: 'invalidValue' }, 'the service validates data as on POST /Users');
  t.equal(results[8]!.method, 'POST', 'the method is read case-insensitively');
  t.same(await userNames(scim), ['erin', 'frank']);
});

t.test('failOnErrors=1 stops after the first error; later operations are absent', async (t) => {
  const { scim } = await testApp(t);
  const results = await bulk(t, scim, [postUser('1', 'gina'), postUser('2', 'gina'), postUser('3', 'hank')], { failOnErrors: 1 });
  t.same(results.map((r) => [r.bulkId, r.status]), [['1', '201'], ['2', '409']]);
  t.match(results[1]!.response, { scimType: 'uniqueness' });
  t.same(await userNames(scim), ['gina'], 'the third POST was not attempted');
  const two = await bulk(t, scim, [postUser('4', 'gina'), postUser('5', 'ivan'), postUser('6', 'ivan'), postUser('7', 'jo')], { failOnErrors: 2 });
  t.same(two.map((r) => r.status), ['409', '201', '409'], 'the second error stops it');
});

t.test('PUT, PATCH and DELETE: 404 for an unknown id, DELETE is a 204, version is If-Match', async (t) => {
  const { scim } = await testApp(t);
  const missing = '0190a1b2-0000-7000-8000-000000000000';
  const id = await createUser(scim, 'kim');
  const etag = (await scim.request('GET', `/Users/${id}`)).headers.etag as string;
  const results = await bulk(t, scim, [
    { method: 'PUT', path: `/Users/${missing}`, data: { schemas: [USER_URN], userName: 'x' } },
    { method: 'DELETE', path: `/Groups/${missing}` },
    { method: 'PATCH', path: `/Users/${id}`, version: 'W/"999"', data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Stale' }] } },
    { method: 'PUT', path: `/Users/${id}`, version: etag, data: { schemas: [USER_URN], userName: 'kim', displayName: 'Kim' } },
    { method: 'DELETE', path: `/Users/${id}`, version: etag },
  ]);
  t.match(results[0], { method: 'PUT', status: '404', location: `${BASE}/Users/${missing}`, response: { status: '404' } });
  t.match(results[1], { method: 'DELETE', status: '404' });
  t.match(results[2], { status: '412', response: { status: '412', detail: /has changed/ } }, 'a version that does not match');
  t.match(results[3], { status: '200', location: `${BASE}/Users/${id}`, version: 'W/"2"' }, 'the matching version');
  t.match(results[4], { status: '412' }, 'the PUT made the DELETE\'s version stale');
  t.equal((await scim.json('GET', `/Users/${id}`)).body.displayName, 'Kim');

  const [deleted] = await bulk(t, scim, [{ method: 'DELETE', path: `/Users/${id}`, version: 'W/"2"' }]);
  t.same(deleted, { method: 'DELETE', location: `${BASE}/Users/${id}`, status: '204' });
  t.equal((await scim.json('GET', `/Users/${id}`)).status, 404);
});

t.test('scopes per operation: a users:write token gets 403 for the group operations only', async (t) => {
  const test = await testApp(t);
  const tenant = await test.database.db.selectFrom('tenants').select('id').where('name', '=', 'acme').executeTakeFirstOrThrow();
  const writer = test.client('acme', (await issueToken(test.database.db, tenant.id, { scopes: ['users:write'] })).token);
  const results = await bulk(t, writer, [postUser('u', 'lee'), postGroup('g', 'G', ['bulkId:u'])]);
  t.same(results.map((r) => r.status), ['201', '403']);
  t.match(results[1]!.response, { status: '403', detail: /groups:write/ });
  t.equal((await test.scim.json('GET', '/Groups')).body.totalResults, 0);
});

t.test('whole-request errors: envelope, duplicate bulkIds, limits', async (t) => {
  const { scim } = await testApp(t, { SCIM_BULK_MAX_OPERATIONS: '2', SCIM_BULK_MAX_PAYLOAD_BYTES: '2048' });
  const send = (body: unknown) => scim.json('POST', '/Bulk', body);
  for (const [body, what] of [
    [[], 'an array'],
    [{ Operations: [] }, 'no schemas'],
    [{ schemas: [BULK_REQUEST], Operations: {} }, 'Operations not an array'],
    [{ schemas: [BULK_REQUEST], Operations: [], failOnErrors: 0 }, 'failOnErrors 0'],
    [{ schemas: [BULK_REQUEST], Operations: [], failOnErrors: '1' }, 'failOnErrors a string'],
  ] as const) {
    t.match(await send(body), { status: 400, body: { schemas: [ERROR_URN], status: '400', scimType: 'invalidSyntax' } }, what);
  }
  const duplicate = await send({ schemas: [BULK_REQUEST], Operations: [postUser('same', 'a'), postUser('same', 'b')] });
  t.match(duplicate, { status: 400, body: { scimType: 'invalidValue', detail: /"same"/ } }, 'duplicate bulkIds');

  const tooMany = await send({ schemas: [BULK_REQUEST], Operations: [postUser('1', 'a'), postUser('2', 'b'), postUser('3', 'c')] });
  t.match(tooMany, { status: 413, body: { status: '413', scimType: 'tooMany', detail: /maximum is 2 \(SCIM_BULK_MAX_OPERATIONS\)/ } });
  const tooLarge = await send({ schemas: [BULK_REQUEST], Operations: [postUser('1', 'a', { displayName: 'x'.repeat(2100) })] });
  t.match(tooLarge, { status: 413, body: { status: '413', scimType: 'tooLarge', detail: /2048 bytes \(SCIM_BULK_MAX_PAYLOAD_BYTES\)/ } });
  t.same(await userNames(scim), [], 'nothing was written');
});

t.test('the bulk payload limit replaces SCIM_MAX_BODY_BYTES on /Bulk only', async (t) => {
  const { scim } = await testApp(t, { SCIM_MAX_BODY_BYTES: '1024', SCIM_BULK_MAX_PAYLOAD_BYTES: '4096' });
  const big = { title: 'x'.repeat(1500) };
  t.match(await scim.json('POST', '/Users', { schemas: [USER_URN], userName: 'single', ...big }), { status: 413, body: { detail: /SCIM_MAX_BODY_BYTES/ } });
  const [result] = await bulk(t, scim, [postUser('u', 'bulky', big)]);
  t.equal(result!.status, '201');
});

t.test('a bulk request spends one SCIM_RATE_LIMIT token per operation', async (t) => {
  // 1/min: nothing refills while the test runs.
  const { scim } = await testApp(t, { SCIM_RATE_LIMIT: '1/m,burst=5' });
  t.same((await bulk(t, scim, [postUser('1', 'a'), postUser('2', 'b'), postUser('3', 'c')])).map((r) => r.status), ['201', '201', '201']);
  const refused = await scim.json('POST', '/Bulk', { schemas: [BULK_REQUEST], Operations: [postUser('4', 'd'), postUser('5', 'e'), postUser('6', 'f')] });
  t.match(refused, { status: 429, body: { status: '429', detail: /SCIM_RATE_LIMIT/ } }, '3 + 3 is over the burst of 5');
  t.match(refused.headers['retry-after'], /^[1-9]\d*$/);
  t.same(await userNames(scim), ['a', 'b', 'c'], 'the refused bulk ran nothing (and this GET was the fifth token)');
  t.equal((await scim.json('GET', '/Users')).status, 429, 'the bucket is empty now');
});

t.test('SCIM_BULK_MAX_OPERATIONS and SCIM_BULK_MAX_PAYLOAD_BYTES are validated integers', async (t) => {
  t.same(loadConfig({}).scim.bulk, { maxOperations: 1000, maxPayloadBytes: 1_048_576 }, 'the defaults');
  t.throws(() => loadConfig({ SCIM_BULK_MAX_OPERATIONS: '0' }), { name: 'ConfigError', message: 'SCIM_BULK_MAX_OPERATIONS must be between 1 and 10000, got 0' });
  t.throws(() => loadConfig({ SCIM_BULK_MAX_PAYLOAD_BYTES: '1mb' }), { name: 'ConfigError', message: 'SCIM_BULK_MAX_PAYLOAD_BYTES must be an integer, got "1mb"' });
});

t.test('/ServiceProviderConfig advertises bulk with the configured limits', async (t) => {
  const { scim } = await testApp(t, { SCIM_BULK_MAX_OPERATIONS: '50', SCIM_BULK_MAX_PAYLOAD_BYTES: '65536' });
  const spc = (await scim.json('GET', '/ServiceProviderConfig')).body;
  t.same(spc.bulk, { supported: true, maxOperations: 50, maxPayloadSize: 65536 });
  t.same(await bulk(t, scim, []), [], 'an empty bulk is a 200 with no results');
});

t.test('a bulk-created user reaches the Auth0 sync like a single POST', async (t) => {
  const database = await testDatabase(t);
  const changed: string[] = [];
  // Every tenant counts as bound here without a binding row in the database, so the write path must not
  // try the unbound single statement (which asks the database): this process "has seen" the binding.
  const events: DirectoryEvents = {
    isBound: async () => true,
    lastKnownBound: () => true,
    usersChanged: async (_trx, _tenant, ids) => void changed.push(...ids),
    userDeleted: async () => undefined,
    groupChanged: async () => undefined,
  };
  const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', SCIM_TOKEN_CACHE_MS: '0' }), database, logger: pino({ level: 'silent' }), events });
  t.teardown(() => app.close());
  const { token } = await createTenant(database.db, { name: 'acme' });
  const post = (url: string, body: unknown) =>
    app.inject({ method: 'POST', url: `/scim/v2/acme${url}`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' }, payload: JSON.stringify(body) });
  const single = JSON.parse((await post('/Users', { schemas: [USER_URN], userName: 'single' })).body).id;
  const res = JSON.parse((await post('/Bulk', { schemas: [BULK_REQUEST], Operations: [postUser('b', 'bulk')] })).body);
  const bulkId = res.Operations[0].location.split('/').pop();
  t.same(changed, [single, bulkId], 'both writes told the sync which user changed');
});

t.test('planBulk: dependencies first, request order otherwise, cycles reported', async (t) => {
  const plan = (ops: Op[]) => planBulk(parseBulkRequest({ schemas: [BULK_REQUEST], Operations: ops }, LIMITS).operations);
  const chain = plan([postGroup('g1', 'G1', ['bulkId:g2']), postUser('x', 'x'), postGroup('g2', 'G2', ['bulkId:g3']), postGroup('g3', 'G3')]);
  t.same(chain.order, [3, 2, 0, 1], 'g3, g2, g1 pulled forward in dependency order, then x');
  t.equal(chain.cycles.size, 0);
  const cyclic = plan([postGroup('a', 'A', ['bulkId:b']), postGroup('b', 'B', ['bulkId:c']), postGroup('c', 'C', ['bulkId:a', 'bulkId:b']), postUser('u', 'u')]);
  t.same(cyclic.cycles.get(0), ['a', 'b', 'c', 'a']);
  t.same(cyclic.cycles.get(2), ['c', 'b', 'c'], 'from c the shortest way round');
  t.same(cyclic.order.slice(-1), [3]);
  // A chain as long as the largest allowed bulk must not overflow the stack.
  const long = Array.from({ length: 10_000 }, (_, i) => postGroup(`g${i}`, `G${i}`, i + 1 < 10_000 ? [`bulkId:g${i + 1}`] : []));
  t.equal(planBulk(parseBulkRequest({ schemas: [BULK_REQUEST], Operations: long }, { ...LIMITS, maxOperations: 10_000 }).operations).order[0], 9999);
});
