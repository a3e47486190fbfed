import { randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { PgBoss } from 'pg-boss';
import { pino } from 'pino';
import t from 'tap';
import { findTenantByName } from '../../src/db/tenants.js';
import { WebhookQueue } from '../../src/events/queue.js';
import { EventsRuntime } from '../../src/events/runtime.js';
import { hasUnsequencedEvents, sequenceEvents } from '../../src/events/sequencer.js';
import type { Database } from '../../src/db/schema.js';
import { SecretBox } from '../../src/secrets.js';
import { onPool } from '../../src/sync/queue.js';
import { orgAdmin, operator } from '../helpers/admin.js';
import { createGroup, createUser, testApp, type TestAppExtras } from '../helpers/app.js';
import { dropJobQueueSchema, jobQueueSchema } from '../helpers/db.js';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** The key webhook signing secrets are sealed with in these tests. */
const secrets = (): SecretBox => SecretBox.fromKey(randomBytes(32).toString('base64'));

interface TapLike {
  teardown(fn: () => unknown): void;
}

/**
 * Numbers every event written so far. The sequencer waits until no older transaction in the whole database
 * is running, other test files' included, so one round may number nothing.
 */
async function numberEvents(db: Kysely<Database>, queue?: WebhookQueue): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    await sequenceEvents(db, queue);
    if (!(await hasUnsequencedEvents(db))) return;
    if (Date.now() > deadline) throw new Error('events not numbered within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The webhook lane of a process with WEBHOOKS on but no delivery worker: its own pg-boss schema, and a
 * sequencer that only runs when the test asks (`sequenceNow`), so deliveries stay where the test puts them.
 */
function webhookLane(t: TapLike, lane: { queue?: WebhookQueue } = {}): TestAppExtras['webhooks'] {
  return async (database, config) => {
    const schema = jobQueueSchema();
    const boss = new PgBoss({ db: onPool(database.pool), schema, supervise: false, schedule: false });
    await boss.start();
    const runtime = await EventsRuntime.start({ config, db: database.db, pool: database.pool, logger: pino({ level: 'silent' }), boss });
    lane.queue = await WebhookQueue.start(boss, 60);
    t.teardown(async () => {
      await runtime.stop();
      await boss.stop({ graceful: false });
      await dropJobQueueSchema(database, schema);
    });
    return runtime;
  };
}

t.test('an operator creates an endpoint; its signing secret is shown once and never again', async (t) => {
  const { app, database, tenant } = await testApp(t, {}, { secrets: secrets() });
  const op = await operator(app, database);
  await tenant('globex');
  const acme = (await findTenantByName(database.db, 'acme'))!;

  const created = await op('POST', '/webhook-endpoints', { url: 'https://hooks.example.com/provisio', tenant: 'acme', eventTypes: ['user.created', 'user.deleted'], description: 'CRM sync' });
  t.equal(created.status, 201);
  t.match(created.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/, 'a Standard Webhooks secret: whsec_ and 32 bytes in base64');
  t.match(created.body.endpoint, {
    tenantId: acme.id, url: 'https://hooks.example.com/provisio', description: 'CRM sync', eventTypes: ['user.created', 'user.deleted'],
    status: 'enabled', pending: 0, failed: 0, failingSince: null,
  });
  t.equal(created.body.endpoint.secrets.length, 1);
  const id = created.body.endpoint.id as string;

  const shown = await op('GET', `/webhook-endpoints/${id}`);
  t.equal(shown.status, 200);
  t.same(shown.body.endpoint.secrets, [{ createdAt: created.body.endpoint.secrets[0].createdAt }], 'only when the secret was made');
  const secret = created.body.secret as string;
  t.notOk(JSON.stringify(shown.body).includes(secret.slice(6)), 'the secret is not in GET');
  t.notOk(JSON.stringify((await op('GET', '/webhook-endpoints')).body).includes(secret.slice(6)), 'nor in the list');
  const audit = await op('GET', '/tenants/acme/audit');
  t.match(audit.body.entries, [{ action: 'webhook-endpoint.create', target: id }], 'the creation is in the tenant\'s audit trail');
  t.notOk(JSON.stringify(audit.body).includes(secret.slice(6)), 'nor in the audit trail');

  // The tenant by id; an endpoint for every tenant; plain http for localhost.
  const byId = await op('POST', '/webhook-endpoints', { url: 'https://hooks.example.com/globex', tenant: (await findTenantByName(database.db, 'globex'))!.id });
  t.equal(byId.status, 201, 'a tenant may be named by its id');
  const everyone = await op('POST', '/webhook-endpoints', { url: 'http://localhost:8080/hook' });
  t.equal(everyone.status, 201, 'plain http to localhost is accepted (development)');
  t.match(everyone.body.endpoint, { tenantId: null, eventTypes: [] });

  const all = await op('GET', '/webhook-endpoints');
  t.equal(all.body.endpoints.length, 3);
  const ofAcme = await op('GET', '/webhook-endpoints?tenant=acme');
  t.same(ofAcme.body.endpoints.map((e: { id: string }) => e.id).sort(), [id, everyone.body.endpoint.id].sort(), 'a tenant\'s list has its own endpoints and those for every tenant');
  t.equal((await op('GET', '/webhook-endpoints?tenant=nobody')).status, 404);
});

t.test('endpoint URLs and event types are checked before anything is stored', async (t) => {
  const { app, database } = await testApp(t, {}, { secrets: secrets() });
  const op = await operator(app, database);

  for (const url of ['http://10.0.0.1/hook', 'https://10.0.0.1/hook', 'ftp://hooks.example.com/hook', 'http://hooks.example.com/hook', 'https://user:pw@hooks.example.com/']) {
    const refused = await op('POST', '/webhook-endpoints', { url });
    t.equal(refused.status, 400, url);
    t.match(refused.body, { code: 'invalid_request', message: /^url: / }, `${url}: the message names the field`);
  }
  const unknownType = await op('POST', '/webhook-endpoints', { url: 'https://hooks.example.com/', eventTypes: ['user.created', 'user.exploded'] });
  t.equal(unknownType.status, 400);
  t.match(unknownType.body.message, /eventTypes: unknown event type\(s\) user\.exploded/);
  t.equal((await op('POST', '/webhook-endpoints', { url: 'https://hooks.example.com/', tenant: 'nobody' })).status, 404, 'an unknown tenant');
  t.equal((await op('POST', '/webhook-endpoints', { url: 'https://hooks.example.com/', secret: 'mine' })).status, 400, 'unknown fields are refused, not ignored');
  t.same((await op('GET', '/webhook-endpoints')).body.endpoints, [], 'nothing was stored');
});

t.test('without an encryption key no endpoint can be created, and the answer says which setting is missing', async (t) => {
  const { app, database } = await testApp(t);
  const op = await operator(app, database);
  const res = await op('POST', '/webhook-endpoints', { url: 'https://hooks.example.com/' });
  t.equal(res.status, 409);
  t.match(res.body, { code: 'conflict', message: /PROVISIO_ENCRYPTION_KEY/ });
});

t.test('a delegated admin pulls its own tenant\'s events but cannot see or change endpoints', async (t) => {
  const { app, database, scim, tenant } = await testApp(t, {}, { secrets: secrets() });
  const op = await operator(app, database);
  const acme = (await findTenantByName(database.db, 'acme'))!;
  await tenant('globex');
  const delegated = await orgAdmin(app, database, acme);
  const endpoint = (await op('POST', '/webhook-endpoints', { url: 'https://hooks.example.com/', tenant: 'acme' })).body.endpoint.id as string;

  for (const [method, path, body] of [
    ['GET', '/webhook-endpoints', undefined], ['POST', '/webhook-endpoints', { url: 'https://evil.example.com/', tenant: 'acme' }],
    ['GET', `/webhook-endpoints/${endpoint}`, undefined], ['PATCH', `/webhook-endpoints/${endpoint}`, { enabled: false }],
    ['DELETE', `/webhook-endpoints/${endpoint}`, undefined], ['POST', `/webhook-endpoints/${endpoint}/rotate-secret`, {}],
    ['GET', `/webhook-endpoints/${endpoint}/deliveries`, undefined], ['POST', `/webhook-endpoints/${endpoint}/redeliver`, {}],
  ] as const) {
    t.equal((await delegated(method, path, body)).status, 403, `${method} ${path}`);
  }
  t.equal((await op('GET', `/webhook-endpoints/${endpoint}`)).body.endpoint.status, 'enabled', 'nothing changed');

  await createUser(scim, 'ada@acme.test');
  await numberEvents(database.db);
  const own = await delegated('GET', '/tenants/acme/events');
  t.equal(own.status, 200);
  t.same(own.body.events.map((e: { type: string }) => e.type), ['user.created']);
  t.equal((await delegated('GET', '/tenants/globex/events')).status, 403, 'not another tenant\'s');
});

t.test('events are pulled by sequence number after SCIM writes, a page at a time, by type', async (t) => {
  const { app, database, scim } = await testApp(t);
  const op = await operator(app, database);
  const acme = (await findTenantByName(database.db, 'acme'))!;

  const empty = await op('GET', '/tenants/acme/events');
  t.same(empty.body, { events: [], next: 0, hasMore: false, oldestSequence: null, lastSequence: 0 }, 'a tenant with no events yet');

  const ada = await createUser(scim, 'ada@acme.test');
  const bob = await createUser(scim, 'bob@acme.test');
  t.equal((await scim.json('PATCH', `/Users/${ada}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] })).status, 200);
  await createGroup(scim, 'Admins', [bob]);
  t.same((await op('GET', '/tenants/acme/events')).body.events, [], 'not visible before the sequencer numbered them');
  await numberEvents(database.db);

  const all = await op('GET', '/tenants/acme/events');
  t.equal(all.status, 200);
  t.same(all.body.events.map((e: { type: string; sequence: number }) => [e.sequence, e.type]), [
    [1, 'user.created'], [2, 'user.created'], [3, 'user.deactivated'], [4, 'group.created'], [5, 'group.member_added'],
  ]);
  t.match(all.body, { next: 5, hasMore: false, oldestSequence: 1, lastSequence: 5 });
  t.match(all.body.events[0], { id: /^[0-9a-f-]{36}$/, tenant: { id: acme.id, name: 'acme' }, data: { user: { id: ada, userName: 'ada@acme.test' } } });
  t.ok(Date.parse(all.body.events[0].timestamp) > Date.now() - 60_000);

  const first = await op('GET', '/tenants/acme/events?limit=2');
  t.same(first.body.events.map((e: { sequence: number }) => e.sequence), [1, 2]);
  t.match(first.body, { next: 2, hasMore: true });
  const second = await op('GET', `/tenants/acme/events?limit=2&after=${first.body.next}`);
  t.same(second.body.events.map((e: { sequence: number }) => e.sequence), [3, 4]);
  t.match(second.body, { next: 4, hasMore: true });
  const last = await op('GET', `/tenants/acme/events?limit=2&after=${second.body.next}`);
  t.match(last.body, { next: 5, hasMore: false });
  const caughtUp = await op('GET', '/tenants/acme/events?after=5');
  t.match(caughtUp.body, { events: [], next: 5, hasMore: false }, 'polling with nothing new keeps the cursor');

  const users = await op('GET', '/tenants/acme/events?types=user.created,%20user.deactivated&after=1');
  t.same(users.body.events.map((e: { type: string; sequence: number }) => [e.sequence, e.type]), [[2, 'user.created'], [3, 'user.deactivated']]);
  const unknown = await op('GET', '/tenants/acme/events?types=user.created,user.exploded,group.eaten');
  t.equal(unknown.status, 400);
  t.match(unknown.body.message, /types: unknown event type\(s\) user\.exploded, group\.eaten/);
  t.equal((await op('GET', '/tenants/acme/events?limit=1001')).status, 400);
  t.equal((await op('GET', '/tenants/nobody/events')).status, 404);
});

t.test('rotating the secret gives a new one and ends the old one after the overlap; endpoints are disabled and enabled', async (t) => {
  const { app, database } = await testApp(t, {}, { secrets: secrets() });
  const op = await operator(app, database);
  const created = await op('POST', '/webhook-endpoints', { url: 'https://hooks.example.com/', tenant: 'acme' });
  const id = created.body.endpoint.id as string;

  const before = Date.now();
  const rotated = await op('POST', `/webhook-endpoints/${id}/rotate-secret`, { overlapSeconds: 3600 });
  t.equal(rotated.status, 200);
  t.match(rotated.body.secret, /^whsec_/);
  t.not(rotated.body.secret, created.body.secret, 'a new secret');
  const expiresAt = Date.parse(rotated.body.previousSecretsExpireAt);
  t.ok(expiresAt >= before + 3_600_000 - 1000 && expiresAt <= Date.now() + 3_600_000 + 1000, 'the old secret signs for the overlap');
  const [current, previous] = rotated.body.endpoint.secrets;
  t.notOk(current.expiresAt, 'the new secret does not expire');
  t.equal(previous.createdAt, created.body.endpoint.secrets[0].createdAt);
  t.equal(previous.expiresAt, rotated.body.previousSecretsExpireAt, 'the old secret now has an end');
  t.notOk(JSON.stringify((await op('GET', `/webhook-endpoints/${id}`)).body).includes(rotated.body.secret.slice(6)), 'the new secret is not in GET');

  const defaulted = await op('POST', `/webhook-endpoints/${id}/rotate-secret`);
  t.ok(Math.abs(Date.parse(defaulted.body.previousSecretsExpireAt) - Date.now() - 86_400_000) < 5000, 'a day of overlap by default');
  const ended = await op('POST', `/webhook-endpoints/${id}/rotate-secret`, { overlapSeconds: 0 });
  t.equal(ended.body.endpoint.secrets.length, 1, 'overlap 0 ends every previous secret at once');
  t.equal((await op('POST', `/webhook-endpoints/${id}/rotate-secret`, { overlapSeconds: 604_801 })).status, 400, 'at most a week of overlap');
  t.equal((await op('POST', `/webhook-endpoints/${randomUUID()}/rotate-secret`, {})).status, 404);

  const disabled = await op('PATCH', `/webhook-endpoints/${id}`, { enabled: false });
  t.equal(disabled.status, 200);
  t.match(disabled.body.endpoint, { status: 'disabled', disabledReason: 'disabled by an operator' });
  const enabled = await op('PATCH', `/webhook-endpoints/${id}`, { enabled: true, eventTypes: ['group.created'], description: 'groups only' });
  t.match(enabled.body.endpoint, { status: 'enabled', eventTypes: ['group.created'], description: 'groups only' });
  t.notOk('disabledReason' in enabled.body.endpoint);
  const refused = await op('PATCH', `/webhook-endpoints/${id}`, { url: 'https://169.254.169.254/latest' });
  t.match(refused, { status: 400, body: { message: /^url: / } });
  t.equal((await op('PATCH', `/webhook-endpoints/${id}`, { eventTypes: ['nope'] })).status, 400);
  t.equal((await op('GET', `/webhook-endpoints/${id}`)).body.endpoint.url, 'https://hooks.example.com/', 'a refused change changes nothing');
  t.equal((await op('PATCH', `/webhook-endpoints/${randomUUID()}`, { enabled: true })).status, 404);

  const actions = (await op('GET', '/tenants/acme/audit')).body;
  const trail = JSON.stringify(actions);
  for (const action of ['webhook-endpoint.create', 'webhook-endpoint.rotate-secret', 'webhook-endpoint.change']) t.ok(trail.includes(action), `${action} is audited`);
  for (const secret of [created.body.secret, rotated.body.secret, defaulted.body.secret, ended.body.secret]) t.notOk(trail.includes(secret.slice(6)), 'no secret in the audit trail');
});

t.test('deliveries are listed per endpoint, and failed ones are delivered again', async (t) => {
  const lane: { queue?: WebhookQueue } = {};
  const { app, database, scim } = await testApp(t, { EVENT_POLL_MS: '60000' }, { secrets: secrets(), webhooks: webhookLane(t, lane) });
  const op = await operator(app, database);
  const acme = (await findTenantByName(database.db, 'acme'))!;
  const id = (await op('POST', '/webhook-endpoints', { url: 'https://hooks.example.com/', tenant: 'acme', eventTypes: ['user.created'] })).body.endpoint.id as string;
  const ada = await createUser(scim, 'ada@acme.test');
  const bob = await createUser(scim, 'bob@acme.test');
  await createGroup(scim, 'Admins');
  await numberEvents(database.db, lane.queue);
  // The sequencer queued a job per user; a worker took them (nothing else may be waiting when we redeliver).
  const taken = await lane.queue!.fetch(10);
  t.equal(taken.length, 2);
  for (const job of taken) await lane.queue!.complete(job);

  const pending = await op('GET', `/webhook-endpoints/${id}/deliveries`);
  t.equal(pending.status, 200);
  t.same(pending.body.deliveries.map((d: { type: string; state: string; sequence: number }) => [d.sequence, d.type, d.state]), [[2, 'user.created', 'pending'], [1, 'user.created', 'pending']], 'newest first, only the types it wants');
  t.match(pending.body.deliveries[1], { eventId: /^[0-9a-f-]{36}$/, tenant: { id: acme.id, name: 'acme' }, attempts: 0, lastStatus: null, lastError: null, deliveredAt: null });
  t.match((await op('GET', `/webhook-endpoints/${id}`)).body.endpoint, { pending: 2, failed: 0 });

  // Both given up after the retry period, as the delivery worker leaves them.
  await sql`update webhook_deliveries set state = 'failed', attempts = 9, last_status = 500, last_error = 'HTTP 500' where endpoint_id = ${id}`.execute(database.db);
  const failed = await op('GET', `/webhook-endpoints/${id}/deliveries?state=failed&limit=1`);
  t.match(failed.body.deliveries, [{ state: 'failed', attempts: 9, lastStatus: 500, lastError: 'HTTP 500' }]);
  t.equal(failed.body.deliveries.length, 1, 'limit');
  t.same((await op('GET', `/webhook-endpoints/${id}/deliveries?state=delivered`)).body.deliveries, []);
  t.match((await op('GET', '/webhook-endpoints')).body.endpoints, [{ id, pending: 0, failed: 2 }]);

  const adaEvent = pending.body.deliveries[1].eventId as string;
  // While disabled, a redelivery would be given up again at once: refused, nothing changed.
  t.equal((await op('PATCH', `/webhook-endpoints/${id}`, { enabled: false })).status, 200);
  t.match(await op('POST', `/webhook-endpoints/${id}/redeliver`, {}), { status: 409, body: { message: /disabled .* enable it first/ } });
  t.match((await op('GET', `/webhook-endpoints/${id}`)).body.endpoint, { failed: 2 });
  t.equal((await op('PATCH', `/webhook-endpoints/${id}`, { enabled: true })).status, 200);
  const one = await op('POST', `/webhook-endpoints/${id}/redeliver`, { eventIds: [adaEvent] });
  t.same(one.body, { queued: 1 }, 'only the named event');
  const jobs = await lane.queue!.fetch(10);
  t.same(jobs.map((j) => j.data), [{ endpointId: id, tenantId: acme.id, subject: ada }], 'a delivery job for that user is queued');
  const after = (await op('GET', `/webhook-endpoints/${id}/deliveries`)).body.deliveries;
  t.match(after.find((d: { eventId: string }) => d.eventId === adaEvent), { state: 'pending', attempts: 0, lastError: null });
  t.match((await op('GET', `/webhook-endpoints/${id}`)).body.endpoint, { pending: 1, failed: 1 });

  t.same((await op('POST', `/webhook-endpoints/${id}/redeliver`)).body, { queued: 1 }, 'without eventIds: every failed delivery (Bob\'s)');
  t.same((await lane.queue!.fetch(10)).map((j) => j.data.subject), [bob]);
  t.same((await op('POST', `/webhook-endpoints/${id}/redeliver`, {})).body, { queued: 0 }, 'nothing failed any more');
  t.ok(JSON.stringify((await op('GET', '/tenants/acme/audit')).body).includes('webhook-endpoint.redeliver'), 'audited');
  t.equal((await op('POST', `/webhook-endpoints/${randomUUID()}/redeliver`, {})).status, 404);
  t.equal((await op('GET', `/webhook-endpoints/${randomUUID()}/deliveries`)).status, 404);
});

t.test('redelivering needs the webhook queue, and an enabled endpoint', async (t) => {
  const { app, database } = await testApp(t, {}, { secrets: secrets() });
  const op = await operator(app, database);
  const id = (await op('POST', '/webhook-endpoints', { url: 'https://hooks.example.com/' })).body.endpoint.id as string;
  const res = await op('POST', `/webhook-endpoints/${id}/redeliver`, {});
  t.equal(res.status, 503);
  t.match(res.body, { code: 'unavailable', message: /webhook queue is not running/ });
});

t.test('a deleted endpoint is gone, with its deliveries', async (t) => {
  const { app, database, scim } = await testApp(t, {}, { secrets: secrets() });
  const op = await operator(app, database);
  const id = (await op('POST', '/webhook-endpoints', { url: 'https://hooks.example.com/', tenant: 'acme' })).body.endpoint.id as string;
  await createUser(scim, 'ada@acme.test');
  await numberEvents(database.db);
  t.equal((await op('GET', `/webhook-endpoints/${id}/deliveries`)).body.deliveries.length, 1);

  const deleted = await op('DELETE', `/webhook-endpoints/${id}`);
  t.equal(deleted.status, 204);
  t.equal(deleted.body, undefined, 'no body');
  t.equal((await op('GET', `/webhook-endpoints/${id}`)).status, 404);
  t.equal((await op('DELETE', `/webhook-endpoints/${id}`)).status, 404, 'a second delete');
  const { rows } = await sql<{ n: string }>`select count(*) as n from webhook_deliveries where endpoint_id = ${id}`.execute(database.db);
  t.equal(Number(rows[0]!.n), 0, 'its deliveries went with it');
  t.ok(JSON.stringify((await op('GET', '/tenants/acme/audit')).body).includes('webhook-endpoint.delete'), 'audited');
  t.equal((await op('GET', '/webhook-endpoints/not-a-uuid')).status, 404, 'an id that is not one names nothing');
});

t.test('the webhook routes are in the OpenAPI description', async (t) => {
  const { app } = await testApp(t);
  const spec = JSON.parse((await app.inject({ method: 'GET', url: '/docs/json' })).body);
  const expected: [string, string][] = [
    ['/v1/admin/tenants/{tenant}/events', 'get'], ['/v1/admin/webhook-endpoints', 'get'], ['/v1/admin/webhook-endpoints', 'post'],
    ['/v1/admin/webhook-endpoints/{id}', 'get'], ['/v1/admin/webhook-endpoints/{id}', 'patch'], ['/v1/admin/webhook-endpoints/{id}', 'delete'],
    ['/v1/admin/webhook-endpoints/{id}/rotate-secret', 'post'], ['/v1/admin/webhook-endpoints/{id}/deliveries', 'get'],
    ['/v1/admin/webhook-endpoints/{id}/redeliver', 'post'],
  ];
  for (const [path, method] of expected) {
    const operation = spec.paths[path]?.[method];
    t.ok(operation?.summary, `${method.toUpperCase()} ${path} is described`);
    t.same(operation?.security, [{ adminToken: [] }, { auth0AccessToken: [] }], `${method.toUpperCase()} ${path} names its credentials`);
  }
  t.ok(spec.paths['/v1/admin/webhook-endpoints'].post.requestBody, 'the endpoint body is described');
});
