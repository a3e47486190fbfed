import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { sql, type Kysely } from 'kysely';
import t, { type Test } from 'tap';
import { adminPlugin, type AdminPluginOptions } from '../../src/admin/plugin.js';
import { createTenant } from '../../src/admin/tenants.js';
import type { DatabaseHandle } from '../../src/db/client.js';
import type { Database } from '../../src/db/schema.js';
import { startOktaQueue, type OktaQueue } from '../../src/okta/queue.js';
import { SecretBox } from '../../src/secrets.js';
import { bindTenant } from '../../src/sync/binding.js';
import type { SyncQueue } from '../../src/sync/queue.js';
import { operator, orgAdmin, type AdminCall, type AdminResponse } from '../helpers/admin.js';
import { testDatabase, testJobQueue } from '../helpers/db.js';

const TOKEN = `00${randomBytes(20).toString('base64url')}`;
const AUTH0_BINDING = { organization: { name: 'acme' }, connections: [{ id: 'con_1', name: 'Username-Password-Authentication', mode: 'database' }] };

interface Fixture {
  readonly database: DatabaseHandle;
  readonly syncQueue: SyncQueue;
  readonly oktaQueue: OktaQueue;
  readonly queueSchema: string;
  readonly secrets: SecretBox;
  readonly acme: { id: string; name: string };
  readonly other: { id: string; name: string };
  /** Acme's users already in Auth0 (mirrored on bind), and one whose Auth0 sync is still pending. */
  readonly users: { alice: string; bob: string; carol: string };
}

/** A database with two tenants, `acme` bound to Auth0 with three users, and the job queue with its Okta lane. */
async function fixture(t: Test): Promise<Fixture> {
  const database = await testDatabase(t);
  const { queue: syncQueue, schema: queueSchema } = await testJobQueue(t, database);
  const oktaQueue = await startOktaQueue(syncQueue.boss, { sync: { retryLimit: 3, jobExpireSeconds: 30 } });
  const acme = (await createTenant(database.db, { name: 'acme' })).tenant;
  const other = (await createTenant(database.db, { name: 'other' })).tenant;
  await bindTenant(database.db, syncQueue, acme.id, { binding: AUTH0_BINDING });
  const users = { alice: randomUUID(), bob: randomUUID(), carol: randomUUID() };
  for (const [name, id] of Object.entries(users)) {
    await sql`insert into users (tenant_id, id, user_name, active, data, updated_at) values (${acme.id}, ${id}, ${`${name}@acme.test`}, true, '{}', now())`.execute(database.db);
  }
  for (const [id, status, auth0Id] of [[users.alice, 'synced', 'auth0|alice'], [users.bob, 'synced', 'auth0|bob'], [users.carol, 'pending', null]] as const) {
    await sql`insert into user_sync (tenant_id, user_id, auth0_user_id, status, changed_at) values (${acme.id}, ${id}, ${auth0Id}, ${status}, now())
      on conflict (tenant_id, user_id) do update set auth0_user_id = excluded.auth0_user_id, status = excluded.status`.execute(database.db);
  }
  return { database, syncQueue, oktaQueue, queueSchema, secrets: SecretBox.fromKey(randomBytes(32).toString('base64')), acme, other, users };
}

/**
 * The admin API alone over the fixture's database, with these options (as `buildApp` registers it: request
 * bodies are validated, never stripped).
 */
async function adminApp(t: Test, f: Fixture, options: Partial<AdminPluginOptions>): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, ajv: { customOptions: { removeAdditional: false } } });
  await app.register(adminPlugin, { prefix: '/v1/admin', db: f.database.db, destinations: { allowHttp: false, allowedNetworks: [] }, ...options });
  await app.ready();
  t.teardown(() => app.close());
  return app;
}

async function stored(db: Kysely<Database>, tenantId: string): Promise<Record<string, any> | undefined> {
  return (await db.selectFrom('tenant_okta_bindings').select('binding').where('tenant_id', '=', tenantId).executeTakeFirst())?.binding;
}

async function oktaJobs(f: Fixture): Promise<string[]> {
  const { rows } = await sql<{ user_id: string }>`select data->>'userId' as user_id from ${sql.table(`${f.queueSchema}.job`)} where name = 'okta' and state = 'created'`.execute(f.database.db);
  return rows.map((r) => r.user_id).sort();
}

/** Wraps a caller so every response body is kept, to check no credential ever leaves. */
function recorded(call: AdminCall, bodies: string[]): AdminCall {
  return async (method, path, body) => {
    const res: AdminResponse = await call(method, path, body);
    bodies.push(JSON.stringify(res.body ?? null));
    return res;
  };
}

t.test('an operator binds a tenant to Okta, changes its group rules, retries and unbinds; an org admin reads its own', async (t) => {
  const f = await fixture(t);
  const app = await adminApp(t, f, { queue: f.syncQueue, oktaQueue: f.oktaQueue, secrets: f.secrets });
  const bodies: string[] = [];
  const op = recorded(await operator(app, f.database), bodies);
  const admin = recorded(await orgAdmin(app, f.database, f.acme), bodies);
  const stranger = recorded(await orgAdmin(app, f.database, f.other), bodies);
  const document = { orgUrl: 'https://acme.okta.com', auth: { method: 'api-token', token: TOKEN } };

  t.equal((await op('PUT', '/tenants/other/okta', document)).status, 409, 'a tenant not bound to Auth0 has nothing to mirror');
  t.match((await op('PUT', '/tenants/other/okta', document)).body.message, /not bound to Auth0/);
  t.equal((await admin('PUT', '/tenants/acme/okta', document)).status, 403, 'binding is the operator\'s');
  t.equal((await op('GET', '/tenants/acme/okta')).status, 404);
  t.match((await op('GET', '/tenants/acme/okta')).body.message, /Tenant "acme" is not bound to Okta/);

  const invalid: [string, unknown, RegExp][] = [
    ['bad orgUrl', { ...document, orgUrl: 'acme dot okta' }, /okta\.orgUrl must be a URL/],
    ['http to a remote host', { ...document, orgUrl: 'http://acme.okta.com' }, /okta\.orgUrl must use https/],
    ['orgUrl with a path', { ...document, orgUrl: 'https://acme.okta.com/api/v1' }, /okta\.orgUrl is the org only/],
    ['no login mapping', { ...document, profileMapping: [{ scim: 'emails.value', okta: 'email' }] }, /okta\.profileMapping must map Okta's required "login"/],
    ['bad attribute name', { ...document, profileMapping: [{ scim: 'userName', okta: 'login' }, { scim: 'userName', okta: 'email' }, { scim: 'title', okta: 'job-title' }] }, /okta\.profileMapping\[2\]\.okta/],
    ['duplicate rule ids', { ...document, groupRules: [{ id: 'x', match: { value: 'A' }, oktaGroup: { id: '00g1' } }, { id: 'x', match: { value: 'B' }, oktaGroup: { name: 'B' } }] }, /two rules have the id "x"/],
    ['no credentials with an org', { orgUrl: 'https://acme.okta.com' }, /okta\.auth is required/],
    ['a sealed value from outside', { ...document, auth: { method: 'api-token', sealedToken: 'v1:a:b:c' } }, /auth.*sealedToken|must NOT have additional properties/],
    ['unknown field', { ...document, colour: 'blue' }, /additional properties/],
    ['unknown onDelete', { ...document, onDelete: 'shred' }, /onDelete/],
  ];
  for (const [what, body, message] of invalid) {
    const res = await op('PUT', '/tenants/acme/okta', body);
    t.equal(res.status, 400, what);
    t.match(res.body.message, message, what);
  }
  t.equal(await stored(f.database.db, f.acme.id), undefined, 'refused documents stored nothing');

  const bound = await op('PUT', '/tenants/acme/okta', document);
  t.equal(bound.status, 200, JSON.stringify(bound.body));
  t.match(bound.body, { binding: { orgUrl: 'https://acme.okta.com', target: 'okta', auth: { method: 'api-token', token: 'set' }, onDelete: 'deactivate', activation: 'federated', auth0IdAttribute: 'auth0UserId', groupRules: [] }, queued: 2 });
  t.equal(bound.body.binding.profileMapping.length, 9, 'the default mapping');
  const row = (await stored(f.database.db, f.acme.id))!;
  t.notOk(JSON.stringify(row).includes(TOKEN), 'the stored row holds no plain token');
  t.equal(f.secrets.open(row.auth.sealedToken), TOKEN, 'it holds the sealed one');
  const mirrors = await f.database.db.selectFrom('okta_mirror').select(['user_id', 'status']).where('tenant_id', '=', f.acme.id).execute();
  t.same(mirrors.map((m) => m.user_id).sort(), [f.users.alice, f.users.bob].sort(), 'the users already in Auth0, not Carol');
  t.ok(mirrors.every((m) => m.status === 'pending'));
  t.same(await oktaJobs(f), [f.users.alice, f.users.bob].sort(), 'one okta job each');

  const read = await admin('GET', '/tenants/acme/okta');
  t.equal(read.status, 200, 'the org admin reads its own tenant\'s binding');
  t.match(read.body, { binding: { orgUrl: 'https://acme.okta.com', auth: { token: 'set' } }, counts: { pending: 2 }, failed: [] });
  t.equal((await stranger('GET', '/tenants/acme/okta')).status, 403, 'not another tenant\'s');
  t.equal((await stranger('PUT', '/tenants/acme/okta/group-rules', { groupRules: [] })).status, 403);

  // Failed mirrors, the user named while it exists.
  const ghost = randomUUID();
  await sql`insert into okta_mirror (tenant_id, user_id, status, last_error, attempts, changed_at) values (${f.acme.id}, ${ghost}, 'failed', 'E0000001 login: already exists', 9, now() - interval '1 minute')`.execute(f.database.db);
  await f.database.db.updateTable('okta_mirror').set({ status: 'failed', last_error: 'E0000006 You do not have permission', attempts: 3 }).where('user_id', '=', f.users.alice).execute();
  const failing = await op('GET', '/tenants/acme/okta');
  t.same(failing.body.counts, { pending: 1, failed: 2 });
  t.match(failing.body.failed, [
    { userId: f.users.alice, userName: 'alice@acme.test', lastError: /E0000006/, attempts: 3, changedAt: String },
    { userId: ghost, userName: null, lastError: /E0000001/, attempts: 9 },
  ]);

  // Group rules: replaced alone.
  const rules = [
    { id: 'admins', match: { by: 'externalId', value: 'grp-admins' }, oktaGroup: { id: '00gadmins' } },
    { match: { by: 'displayName', value: 'Staff' }, oktaGroup: { name: 'Acme Staff', description: 'From Provisio' } },
  ];
  t.equal((await admin('PUT', '/tenants/acme/okta/group-rules', { groupRules: rules })).status, 403, 'group rules are the operator\'s');
  const badRules = await op('PUT', '/tenants/acme/okta/group-rules', { groupRules: [rules[0], rules[0]] });
  t.equal(badRules.status, 400);
  t.match(badRules.body.message, /two rules have the id "admins"/);
  t.equal((await op('PUT', '/tenants/acme/okta/group-rules', { groupRules: [{ match: { by: 'colour', value: 'x' }, oktaGroup: { id: '00g' } }] })).status, 400);
  const before = (await stored(f.database.db, f.acme.id))!;
  const set = await op('PUT', '/tenants/acme/okta/group-rules', { groupRules: rules });
  t.equal(set.status, 200, JSON.stringify(set.body));
  t.match(set.body, { groupRules: [{ id: 'admins' }, { id: 'okta-rule-2', oktaGroup: { name: 'Acme Staff' } }], queued: 2 });
  const after = (await stored(f.database.db, f.acme.id))!;
  t.same({ ...after, groupRules: [] }, before, 'only the group rules changed (the sealed token too stays as it was)');
  t.equal((await op('PUT', '/tenants/other/okta/group-rules', { groupRules: [] })).status, 404, 'other is not bound to Okta');

  // A rebind without groupRules keeps them; the token must be sent again.
  t.equal((await op('PUT', '/tenants/acme/okta', { orgUrl: 'https://acme.okta.com', onDelete: 'delete' })).status, 400, 'credentials are sent again on every change');
  const rebound = await op('PUT', '/tenants/acme/okta', { ...document, onDelete: 'delete' });
  t.equal(rebound.status, 200);
  t.match(rebound.body.binding, { onDelete: 'delete', groupRules: [{ id: 'admins' }, { id: 'okta-rule-2' }] }, 'omitted group rules keep the stored ones');

  // Retry: failed mirrors pending again and queued.
  await f.database.db.updateTable('okta_mirror').set({ status: 'failed', attempts: 3 }).where('user_id', '=', f.users.alice).execute();
  await sql`delete from ${sql.table(`${f.queueSchema}.job`)} where name = 'okta'`.execute(f.database.db);
  t.equal((await admin('POST', '/tenants/acme/okta/retry')).status, 403);
  const one = await op('POST', '/tenants/acme/okta/retry', { userIds: [f.users.alice] });
  t.same(one.body, { queued: 1 });
  t.same(await oktaJobs(f), [f.users.alice]);
  const rest = await op('POST', '/tenants/acme/okta/retry');
  t.same(rest.body, { queued: 1 }, 'the ghost');
  t.same(await oktaJobs(f), [f.users.alice, ghost].sort());
  t.same((await op('POST', '/tenants/acme/okta/retry', {})).body, { queued: 0 });
  t.same((await op('GET', '/tenants/acme/okta')).body.failed, []);
  t.equal((await op('POST', '/tenants/acme/okta/retry', { userIds: ['not-a-uuid'] })).status, 400);

  // Unbind.
  t.equal((await admin('DELETE', '/tenants/acme/okta')).status, 403);
  t.equal((await op('DELETE', '/tenants/acme/okta')).status, 204);
  t.equal(await stored(f.database.db, f.acme.id), undefined);
  t.equal((await op('DELETE', '/tenants/acme/okta')).status, 404);
  t.equal((await op('GET', '/tenants/acme/okta')).status, 404);
  t.equal((await op('POST', '/tenants/acme/okta/retry')).status, 404);
  t.equal((await op('PUT', '/tenants/acme/okta/group-rules', { groupRules: [] })).status, 404);

  // The zero-config path: no orgUrl, no credentials, the built-in emulator.
  const emulated = await op('PUT', '/tenants/acme/okta', {});
  t.equal(emulated.status, 200);
  t.match(emulated.body.binding, { orgUrl: null, target: 'emulator', auth: null });

  const audit = (await op('GET', '/tenants/acme/audit')).body.entries.map((e: { action: string; target: string | null; detail: unknown }) => [e.action, e.target, e.detail]);
  t.same(audit, [
    ['okta.bind', 'emulator', { queued: 2 }],
    ['okta.unbind', null, {}],
    ['okta.retry', null, { queued: 0 }],
    ['okta.retry', null, { queued: 1 }],
    ['okta.retry', null, { queued: 1 }],
    ['okta.bind', 'https://acme.okta.com', { queued: 2 }],
    ['okta.group-rules.set', null, { groupRules: 2, queued: 2 }],
    ['okta.bind', 'https://acme.okta.com', { queued: 2 }],
  ], 'every write audited, newest first');
  t.notOk(bodies.some((b) => b.includes(TOKEN)), 'the token is in no response');
});

t.test('without a queue, without a key, and in production', async (t) => {
  const f = await fixture(t);
  // A real key: the binding refuses one the SDK could not sign with.
  const privateJwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const secretD = privateJwk.d!;
  const document = { orgUrl: 'https://acme.okta.com', auth: { method: 'private-key', clientId: '0oa1', privateKey: privateJwk, keyId: 'kid-1' } };

  // SYNC_ENABLED=false: as PUT /binding, writes that queue answer 503; reading and unbinding work.
  const disabled = await operator(await adminApp(t, f, { secrets: f.secrets }), f.database);
  t.equal((await disabled('PUT', '/tenants/acme/okta', document)).status, 503);
  t.equal((await disabled('PUT', '/tenants/acme/okta/group-rules', { groupRules: [] })).status, 503);
  t.equal((await disabled('POST', '/tenants/acme/okta/retry')).status, 503);
  t.equal((await disabled('GET', '/tenants/acme/okta')).status, 404);
  t.equal(await stored(f.database.db, f.acme.id), undefined);

  const keyless = await operator(await adminApp(t, f, { oktaQueue: f.oktaQueue }), f.database);
  const noKey = await keyless('PUT', '/tenants/acme/okta', document);
  t.equal(noKey.status, 409, 'credentials are never stored unsealed');
  t.match(noKey.body.message, /PROVISIO_ENCRYPTION_KEY/);

  const production = await operator(await adminApp(t, f, { oktaQueue: f.oktaQueue, secrets: f.secrets, production: true }), f.database);
  const emulator = await production('PUT', '/tenants/acme/okta', {});
  t.equal(emulator.status, 400, 'production refuses the emulator');
  t.match(emulator.body.message, /okta\.orgUrl is required in production/);
  t.equal(await stored(f.database.db, f.acme.id), undefined);

  const keyed = await production('PUT', '/tenants/acme/okta', document);
  t.equal(keyed.status, 200, JSON.stringify(keyed.body));
  t.match(keyed.body.binding.auth, { method: 'private-key', clientId: '0oa1', keyId: 'kid-1', privateKey: 'set', scopes: ['okta.users.manage', 'okta.groups.manage'] });
  t.notOk(JSON.stringify(keyed.body).includes(secretD));
  const row = (await stored(f.database.db, f.acme.id))!;
  t.notOk(JSON.stringify(row).includes(secretD), 'the stored row holds no plain key');
  t.match(JSON.parse(f.secrets.open(row.auth.sealedPrivateKey)), { d: secretD });
  t.notOk(JSON.stringify((await production('GET', '/tenants/acme/okta')).body).includes(secretD));
});
