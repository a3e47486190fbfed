import t from 'tap';
import { sql } from 'kysely';
import { DENY } from '../../src/login/decision.js';
import { operator, orgAdmin, type AdminCall } from '../helpers/admin.js';
import { PATCH_OP, scimUser, setActive, syncHarness } from '../helpers/sync.js';
import { loginBody, loginHarness, postLogin, type LoginHarness } from '../login/harness.js';

interface Call { operation: string; status: number | null; failure: string | null; durationMs: number; atMs: number }
interface Event {
  at: string; kind: string; title: string; detail: string | null; status: number | null; outcome?: string; attempt?: number | null;
  retry?: string | null; auth0UserId?: string | null; organization?: { id: string; name: string } | null; connection?: string | null;
  calls?: Call[]; callsOmitted?: number; durationMs?: number | null;
}

const short = (e: Event, id: string) => `${e.kind}: ${e.title.replace(id, '<id>').replace(/auth0\|\S+/, 'auth0|…').replace(/token:\S+/, 'token:…')}`;

/** A Management API template: method and path with placeholders, never an id. */
const TEMPLATE = /^(GET|POST|PATCH|DELETE) \/api\/v2\/[A-Za-z0-9_\-/{}]+$/;

/** Reads the timeline until `ok` holds: login decisions reach it in a batch written off the login path. */
async function timelineUntil(admin: AdminCall, path: string, ok: (events: Event[]) => boolean, ms = 5000): Promise<Event[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await admin('GET', path);
    if (res.status !== 200) throw new Error(`GET ${path} ${res.status}`);
    const events = res.body.events as Event[];
    if (ok(events) || Date.now() > deadline) return events;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

t.test('a user\'s timeline: the IdP\'s requests, admin actions and each sync run with its Auth0 calls, newest first', async (t) => {
  const h = await syncHarness(t);
  await h.bind();
  const alice = await scimUser(h, 'alice@acme.test');
  const bob = await scimUser(h, 'bob@acme.test');
  await h.settle();
  t.equal((await h.scim.json('PATCH', `/Users/${alice}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'name.givenName', value: 'Alicia' }] })).status, 200);
  await h.settle();
  t.equal((await h.scim.json('PATCH', `/Users/${alice}`, { schemas: [PATCH_OP], Operations: [{ op: 'explode' }] })).status, 400);
  const op = await operator(h.app, h.database);
  t.equal((await op('POST', `/tenants/acme/users/${alice}/block`, { reason: 'left the company' })).status, 200);
  await h.settle();
  await h.app.scimAudit!.flush();
  await h.worker.history.flush();

  const admin = await orgAdmin(h.app, h.database, { id: h.tenantId, name: 'acme' });
  const timeline = await admin('GET', `/tenants/acme/users/${alice}/timeline`);
  t.equal(timeline.status, 200);
  const events = timeline.body.events as Event[];
  t.same(events.map((e) => short(e, alice)), [
    'sync: synced to Auth0 as auth0|…',
    'admin: user.block by token:…',
    'directory: PATCH /scim/v2/acme/Users/<id> → 400',
    'sync: synced to Auth0 as auth0|…',
    'directory: PATCH /scim/v2/acme/Users/<id> → 200',
    'sync: synced to Auth0 as auth0|…',
    'directory: POST /scim/v2/acme/Users → 201',
  ]);
  const refused = events.find((e) => e.status === 400)!;
  t.match(refused.detail, /op/i, 'a refused request carries the SCIM error');
  t.match(events.find((e) => e.kind === 'admin')!.detail, /left the company/);
  t.notMatch(JSON.stringify(timeline.body), /bob@acme\.test/, 'another user\'s requests are not in it');

  const [blocked, , , renamed, , created] = events;
  const auth0User = h.auth0User('alice@acme.test')!;
  t.equal(created!.auth0UserId, auth0User.user_id, 'the run names the Auth0 user it synced');
  t.match(created, { outcome: 'synced', attempt: 1, retry: null, callsOmitted: 0 });
  t.match(created!.detail, /^planned: .*createUser/, 'the first run created the user');
  t.ok(created!.calls!.some((c) => c.operation === 'POST /api/v2/users' && c.status === 201), 'the user was created in Auth0 (201)');
  t.ok(created!.calls!.some((c) => c.operation === 'POST /api/v2/organizations/{id}/members' && c.status !== null && c.status < 300), 'and made a member of the organization');
  // The binding maps no profile attributes: the run read Auth0, found it right, and wrote nothing.
  t.equal(renamed!.detail, 'nothing to change');
  t.ok(renamed!.calls!.length > 0 && renamed!.calls!.every((c) => c.operation.startsWith('GET ') && c.status === 200), 'a run that changed nothing only read');
  t.ok(blocked!.calls!.some((c) => c.operation === 'PATCH /api/v2/users/{id}' && c.status === 200), 'the block: a user update');
  t.ok(blocked!.calls!.some((c) => c.operation === 'DELETE /api/v2/users/{user_id}/sessions'), 'and its sessions revoked');
  const calls = events.flatMap((e) => e.calls ?? []);
  t.ok(calls.length >= 5, `the runs' calls are listed (${calls.length})`);
  t.ok(calls.every((c) => TEMPLATE.test(c.operation)), 'every call is a method and path template');
  t.ok(calls.every((c) => Number.isInteger(c.durationMs) && c.durationMs >= 0 && Number.isInteger(c.atMs)), 'with its duration and start');
  t.notMatch(JSON.stringify(calls), /auth0\||org_|alice/, 'no id or address in a call');

  t.equal((await admin('GET', `/tenants/acme/users/${bob}/timeline?limit=1`)).body.events.length, 1);
  // Runs pruned (or from before they were recorded): the sync's state stands in for them.
  await sql`delete from user_history where user_id = ${bob}`.execute(h.database.db);
  t.same(((await admin('GET', `/tenants/acme/users/${bob}/timeline`)).body.events as Event[]).map((e) => short(e, bob)),
    ['sync: synced to Auth0 as auth0|…', 'directory: POST /scim/v2/acme/Users → 201']);
  t.equal((await admin('GET', '/tenants/acme/users/01900000-0000-7000-8000-000000000000/timeline')).status, 404);

  const spec = JSON.parse((await h.app.inject({ method: 'GET', url: '/docs/json' })).body);
  const item = spec.paths['/v1/admin/tenants/{tenant}/users/{id}/timeline'].get.responses['200'].content['application/json'].schema.properties.events.items;
  t.same(item.properties.kind.enum, ['directory', 'admin', 'sync', 'login', 'okta'], 'the OpenAPI description names every kind');
  t.ok(item.properties.calls.items.properties.operation, 'and describes the calls');
});

t.test('a failed sync run shows its error and failing calls, then the queue\'s retry that synced; a 429 and its retry are in the run', async (t) => {
  const h = await syncHarness(t);
  await h.bind();
  await scimUser(h, 'warmup@acme.test');
  await h.settle();
  const emu = h.emulator.emulator;
  // Four 503s spend the run's own retries of the call (src/sync/executor.ts), so the job fails and pg-boss retries it.
  emu.injectFault('POST /users', { errorRate: 1, errorStatus: 503, times: 4 });
  // A 429 never fails a job: the run waits for the reset and calls again.
  emu.injectFault('GET /users-by-email', { errorRate: 1, errorStatus: 429, times: 1 });
  const carol = await scimUser(h, 'carol@acme.test');
  await h.settle(40_000);
  await h.worker.history.flush();
  t.ok(h.auth0User('carol@acme.test'), 'carol reached Auth0 in the end');

  const admin = await operator(h.app, h.database);
  const events = ((await admin('GET', `/tenants/acme/users/${carol}/timeline`)).body.events as Event[]).filter((e) => e.kind === 'sync');
  t.same(events.map((e) => e.title.replace(/auth0\|\S+/, 'auth0|…')), ['synced to Auth0 as auth0|… (attempt 2)', 'failed, retried by the queue'], 'newest first: the retry, then the failure');
  const [retry, failed] = events;
  t.match(failed, { outcome: 'failed', attempt: 1, retry: 'queued' });
  t.match(failed!.detail, /503/, 'the failure carries the error');
  const creates = failed!.calls!.filter((c) => c.operation === 'POST /api/v2/users');
  t.same(creates.map((c) => c.status), [503, 503, 503, 503], 'each failing call with its status');
  const lookups = failed!.calls!.filter((c) => c.operation === 'GET /api/v2/users-by-email');
  t.same(lookups.map((c) => c.status), [429, 200], 'the 429, then the same call again');
  t.ok(lookups[1]!.atMs >= lookups[0]!.atMs + lookups[0]!.durationMs, 'after waiting');
  t.ok(failed!.durationMs! >= 1000, 'the run took the waits');
  t.match(retry, { outcome: 'synced', attempt: 2, retry: null });
  t.ok(retry!.calls!.some((c) => c.operation === 'POST /api/v2/users' && c.status === 201), 'the retry created the user');
});

function enterprise(h: LoginHarness) {
  const c = h.emulator.connections.enterprise;
  return { id: c.id, name: c.name, mode: 'enterprise', assignMembershipOnLogin: true };
}

t.test('login decisions: allowed, denied with the reason, and a denial from before the IdP assigned the user', async (t) => {
  const h = await loginHarness(t);
  const acme = await h.tenant('acme');
  const alice = await scimUser(acme, 'alice@acme.test');
  await acme.bind({ organization: { name: 'acme', displayName: 'Acme Corp' }, connections: [enterprise(h)] });
  await h.settle();
  const org = h.org('acme')!;
  const admin = await operator(h.app, h.database);

  const sso = h.ssoUser('alice@acme.test');
  h.autoMember('acme', sso.user_id);
  const body = loginBody({ ...sso, email: 'alice@acme.test', email_verified: true }, h.connection('enterprise'), { id: org.id, name: 'acme' });
  t.equal((await postLogin(h.app, body)).json.decision, 'allow');
  await h.settle();
  await setActive(acme, alice, false);
  await h.settle();
  t.same((await postLogin(h.app, body)).json, { decision: 'deny', reason: DENY.deactivated });

  const path = `/tenants/acme/users/${alice}/timeline`;
  const events = (await timelineUntil(admin, path, (es) => es.filter((e) => e.kind === 'login').length === 2)).filter((e) => e.kind === 'login');
  t.same(events.map((e) => short(e, alice)), ['login: denied', 'login: allowed'], 'both decisions, newest first');
  const [denied, allowed] = events;
  t.match(denied, { outcome: 'denied', detail: DENY.deactivated, auth0UserId: sso.user_id, organization: { id: org.id, name: 'acme' }, connection: h.connection('enterprise').name });
  t.ok(denied!.calls!.some((c) => c.operation === 'DELETE /api/v2/users/{user_id}/sessions'), 'the denial revoked the sessions');
  t.match(allowed, { outcome: 'allowed', detail: null, auth0UserId: sso.user_id });
  t.ok(allowed!.calls!.some((c) => c.operation.startsWith('POST /api/v2/organizations/{id}/members')), 'the first login applied membership or roles');

  // Mallory is not assigned: denied, and recorded against her Auth0 user until the IdP assigns her.
  const mallory = h.ssoUser('mallory@acme.test');
  const malloryBody = loginBody({ ...mallory, email: 'mallory@acme.test', email_verified: true }, h.connection('enterprise'), { id: org.id, name: 'acme' });
  t.same((await postLogin(h.app, malloryBody)).json, { decision: 'deny', reason: DENY.notAssigned('Acme Corp') });
  const assigned = await scimUser(acme, 'mallory@acme.test');
  await h.settle();
  t.equal((await postLogin(h.app, malloryBody)).json.decision, 'allow', 'assigned now');
  const hers = (await timelineUntil(admin, `/tenants/acme/users/${assigned}/timeline`, (es) => es.filter((e) => e.kind === 'login').length === 2))
    .filter((e) => e.kind === 'login');
  t.same(hers.map((e) => `${e.title}: ${e.detail}`), ['allowed: null', `denied: ${DENY.notAssigned('Acme Corp')}`], 'the denial from before she was assigned is in her timeline');
  t.notMatch(JSON.stringify(await admin('GET', path)), /mallory/, 'and not in anyone else\'s');
});

t.test('a just-in-time login is shown as provisioned', async (t) => {
  const h = await loginHarness(t);
  const acme = await h.tenant('acme');
  await acme.bind({ organization: { name: 'acme' }, connections: [enterprise(h)], login: { jit: 'jit' } });
  await h.settle();
  const sso = h.ssoUser('newbie@acme.test');
  t.equal((await postLogin(h.app, loginBody({ ...sso, email: 'newbie@acme.test', email_verified: true }, h.connection('enterprise')))).json.decision, 'allow');
  const { rows } = await sql<{ id: string }>`select id from users where email = 'newbie@acme.test'`.execute(h.database.db);
  const admin = await operator(h.app, h.database);
  const events = await timelineUntil(admin, `/tenants/acme/users/${rows[0]!.id}/timeline`, (es) => es.some((e) => e.kind === 'login'));
  t.match(events.find((e) => e.kind === 'login'), { title: 'allowed: provisioned just in time', outcome: 'provisioned', organization: null });
});

t.test('a login is decided when its history cannot be written', async (t) => {
  const h = await loginHarness(t);
  const acme = await h.tenant('acme');
  await scimUser(acme, 'alice@acme.test');
  await acme.bind({ organization: { name: 'acme' }, connections: [enterprise(h)] });
  await h.settle();
  await sql`drop table user_history`.execute(h.database.db);
  const sso = h.ssoUser('alice@acme.test');
  const body = loginBody({ ...sso, email: 'alice@acme.test', email_verified: true }, h.connection('enterprise'), { id: h.org('acme')!.id, name: 'acme' });
  for (let i = 0; i < 3; i++) {
    const res = await postLogin(h.app, body);
    t.equal(res.status, 200, `login ${i + 1} answered`);
    t.equal(res.json.decision, 'allow');
  }
  // Wait past the recorder's batch interval: the failed insert must not surface anywhere.
  await new Promise((resolve) => setTimeout(resolve, 400));
  t.equal((await postLogin(h.app, body)).json.decision, 'allow', 'and after the failed write too');
});
