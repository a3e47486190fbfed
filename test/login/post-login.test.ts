import t from 'tap';
import { sql } from 'kysely';
import { DENY } from '../../src/login/decision.js';
import { createRoles, scimGroup, scimUser, setActive } from '../helpers/sync.js';
import { ACTION_SECRET, actionToken, loginBody, loginHarness, postLogin, type LoginHarness } from './harness.js';

const NS = 'https://provisio.dev/';

function enterprise(h: LoginHarness, extra: Record<string, unknown> = {}) {
  const c = h.emulator.connections.enterprise;
  return { id: c.id, name: c.name, mode: 'enterprise', assignMembershipOnLogin: true, ...extra };
}

function database(h: LoginHarness) {
  const c = h.emulator.connections.database;
  return { id: c.id, name: c.name, mode: 'database' };
}

async function directoryCount(h: LoginHarness): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from users`.execute(h.database.db);
  return Number(rows[0]?.n ?? 0);
}

t.test('token: missing, forged, expired, wrong algorithm, audience or issuer, long-lived, issued in the future, other body, replayed → 401 and nothing changes', async (t) => {
  const h = await loginHarness(t);
  const acme = await h.tenant('acme');
  await acme.bind({ organization: { name: 'acme' }, connections: [enterprise(h)], login: { jit: 'jit' } });
  await h.settle();
  const sso = h.ssoUser('mallory@acme.test');
  const body = JSON.stringify(loginBody({ ...sso, email: 'mallory@acme.test', email_verified: true }, h.connection('enterprise')));
  const now = Math.floor(Date.now() / 1000);
  const seq = h.lastSeq();
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: 'x' })).toString('base64url')}.`;
  const cases: [string, string][] = [
    ['forged (other secret)', actionToken(body, {}, { secret: 'another-secret-another-secret-another-secret' })],
    ['expired', actionToken(body, { iat: now - 120, exp: now - 60 })],
    ['HS512 instead of HS256', actionToken(body, {}, { alg: 'HS512' })],
    ['alg none', none],
    ['wrong audience', actionToken(body, { aud: 'someone-else' })],
    ['wrong issuer', actionToken(body, { iss: 'someone-else' })],
    ['long-lived', actionToken(body, { exp: now + 3600 })],
    ['issued in the future (a minute-long token valid for a year)', actionToken(body, { iat: now + 365 * 86400, exp: now + 365 * 86400 + 30 })],
    ['no jti', actionToken(body, { jti: undefined })],
    ['covers another body', actionToken(body.replace('mallory', 'mallorx'))],
    ['garbage', 'not-a-jwt'],
  ];
  for (const [name, token] of cases) {
    const res = await postLogin(h.app, body, token);
    t.equal(res.status, 401, name);
    t.equal(res.json.error, 'unauthorized', `${name}: JSON error`);
  }
  const missing = await h.app.inject({ method: 'POST', url: '/v1/auth0/post-login', headers: { 'content-type': 'application/json' }, payload: body });
  t.equal(missing.statusCode, 401, 'missing token');
  t.same(h.writesSince(seq), [], 'no Auth0 write');
  t.equal(await directoryCount(h), 0, 'no directory user');

  const token = actionToken(body);
  const first = await postLogin(h.app, body, token);
  t.equal(first.status, 200, 'the genuine request passes');
  t.equal(first.json.decision, 'allow');
  const replay = await postLogin(h.app, body, token);
  t.equal(replay.status, 401, 'the same token again is a replay');
  t.match(replay.json.message, /already used/);
  t.equal(ACTION_SECRET.length >= 32, true);
});

t.test('situation 1, pending SSO user: first login records the Auth0 id, applies membership and roles at once, then answers from the directory', async (t) => {
  const h = await loginHarness(t);
  await createRoles(h.emulator, 'admin', 'member');
  const acme = await h.tenant('acme');
  const alice = await scimUser(acme, 'alice@acme.test');
  await scimGroup(acme, 'Admins', [alice], 'grp-admins');
  await acme.bind({ organization: { name: 'acme', displayName: 'Acme Corp' }, connections: [enterprise(h)] }, {
    rules: [{ id: 'admins', match: { by: 'externalId', value: 'grp-admins' }, grant: { orgRoles: ['admin'] } }],
    defaultGrant: { orgRoles: ['member'] },
  });
  await h.settle();
  t.equal((await h.syncRow(acme.id, alice))?.status, 'awaiting-login');
  const org = h.org('acme');
  t.ok(org, 'org created by the sync');

  const sso = h.ssoUser('alice@acme.test');
  h.autoMember('acme', sso.user_id);
  const body = loginBody({ ...sso, email: 'alice@acme.test', email_verified: true }, h.connection('enterprise'), { id: org!.id, name: 'acme' });
  const res = await postLogin(h.app, body);
  t.equal(res.status, 200);
  t.same(res.json, { decision: 'allow', claims: { [`${NS}org_id`]: org!.id, [`${NS}roles`]: ['admin'] } });
  t.same(h.org('acme')!.members.get(sso.user_id), ['admin'], 'role assigned before the answer');
  t.equal((await h.syncRow(acme.id, alice))?.auth0_user_id, sso.user_id, 'Auth0 user id recorded');

  await h.settle();
  t.equal((await h.syncRow(acme.id, alice))?.status, 'synced', 'the worker finished the rest');
  const seq = h.lastSeq();
  const again = await postLogin(h.app, body);
  t.same(again.json, res.json, 'same answer');
  t.equal(h.lastSeq(), seq, 'a provisioned user costs no Auth0 call');
  t.equal(h.worker.counts.failed, 0);
});

t.test('deactivated user: denied with a presentable reason, sessions revoked, then blocked by the worker', async (t) => {
  const h = await loginHarness(t);
  const acme = await h.tenant('acme');
  const dave = await scimUser(acme, 'dave@acme.test');
  await acme.bind({ organization: { name: 'acme' }, connections: [enterprise(h)] });
  await h.settle();
  await setActive(acme, dave, false);
  await h.settle();
  const sso = h.ssoUser('dave@acme.test');
  h.emulator.emulator.addSession(sso.user_id);
  const org = h.org('acme')!;
  h.autoMember('acme', sso.user_id);
  const res = await postLogin(h.app, loginBody({ ...sso, email: 'dave@acme.test', email_verified: true }, h.connection('enterprise'), { id: org.id, name: 'acme' }));
  t.same(res.json, { decision: 'deny', reason: DENY.deactivated });
  const user = h.emulator.emulator.state.users.get(sso.user_id)!;
  t.same(user.sessions, [], 'sessions revoked');
  t.same(user.refresh_tokens, [], 'refresh tokens revoked');
  await h.settle();
  t.equal(h.emulator.emulator.state.users.get(sso.user_id)!.blocked, true, 'blocked by the queued sync');
});

t.test('situation 2, Auto-Membership and policy deny: the unknown user is denied and the membership Auth0 granted is removed; a replay changes nothing', async (t) => {
  const h = await loginHarness(t);
  const acme = await h.tenant('acme');
  await scimUser(acme, 'alice@acme.test');
  await acme.bind({ organization: { name: 'acme', displayName: 'Acme Corp' }, connections: [enterprise(h)] });
  await h.settle();
  const org = h.org('acme')!;
  const sso = h.ssoUser('random@acme.test');
  h.autoMember('acme', sso.user_id);
  const body = loginBody({ ...sso, email: 'random@acme.test', email_verified: true }, h.connection('enterprise'), { id: org.id, name: 'acme' });
  const res = await postLogin(h.app, body);
  t.same(res.json, { decision: 'deny', reason: DENY.notAssigned('Acme Corp') });
  t.notOk(h.org('acme')!.members.has(sso.user_id), 'membership removed');
  t.equal(await directoryCount(h), 1, 'no directory user added');

  const again = await postLogin(h.app, body);
  t.same(again.json, res.json, 'replay: same answer');
  t.notOk(h.org('acme')!.members.has(sso.user_id));
});

t.test('JIT: the organization is created, the member added with the default roles, the user recorded; a replay changes nothing', async (t) => {
  const h = await loginHarness(t);
  await createRoles(h.emulator, 'member');
  const acme = await h.tenant('acme');
  await acme.bind({ organization: { name: 'acme', displayName: 'Acme Corp' }, connections: [enterprise(h)], login: { jit: 'jit' } }, { defaultGrant: { orgRoles: ['member'] } });
  t.equal(h.org('acme'), undefined, 'no org yet');
  const sso = h.ssoUser('new@acme.test');
  const body = loginBody({ ...sso, email: 'new@acme.test', email_verified: true }, h.connection('enterprise'));
  const res = await postLogin(h.app, body);
  const org = h.org('acme');
  t.ok(org, 'organization created inside the login');
  t.same(res.json, { decision: 'allow', claims: { [`${NS}org_id`]: org!.id, [`${NS}roles`]: ['member'] } });
  t.same(org!.members.get(sso.user_id), ['member']);
  const enabled = h.emulator.emulator.snapshot().organizations.find((o) => o.name === 'acme')!.enabled_connections;
  t.match(enabled, [{ connection_id: h.emulator.connections.enterprise.id, assign_membership_on_login: true }], 'connection enabled on the new org');
  const { rows } = await sql<{ id: string; user_name: string }>`select id, user_name from users where tenant_id = ${acme.id}`.execute(h.database.db);
  t.same(rows.map((r) => r.user_name), ['new@acme.test'], 'recorded in the tenant directory');
  t.equal((await h.syncRow(acme.id, rows[0]!.id))?.auth0_user_id, sso.user_id);
  await h.settle();

  const seq = h.lastSeq();
  const again = await postLogin(h.app, body);
  t.same(again.json, res.json, 'replay: same answer');
  t.same(h.writesSince(seq), [], 'replay: no Auth0 write');
  t.equal(await directoryCount(h), 1, 'replay: no second directory user');
  t.equal(h.worker.counts.failed, 0);
});

t.test('jit-if-domain: only verified emails of the listed domains are provisioned', async (t) => {
  const h = await loginHarness(t);
  const acme = await h.tenant('acme');
  await acme.bind({ organization: { name: 'acme' }, connections: [enterprise(h)], login: { jit: 'jit-if-domain', emailDomains: ['Acme.test'], claimsNamespace: 'https://acme.test/claims' } });
  const outsider = h.ssoUser('eve@evil.test');
  const denied = await postLogin(h.app, loginBody({ ...outsider, email: 'eve@evil.test', email_verified: true }, h.connection('enterprise')));
  t.equal(denied.json.decision, 'deny', 'other domain');
  const unverified = h.ssoUser('uma@acme.test', { verified: false });
  t.equal((await postLogin(h.app, loginBody({ ...unverified, email: 'uma@acme.test', email_verified: false }, h.connection('enterprise')))).json.decision, 'deny', 'unverified email');
  const insider = h.ssoUser('ian@acme.test');
  const allowed = await postLogin(h.app, loginBody({ ...insider, email: 'ian@acme.test', email_verified: true }, h.connection('enterprise')));
  t.equal(allowed.json.decision, 'allow');
  t.same(Object.keys(allowed.json.claims as object).sort(), ['https://acme.test/claims/org_id', 'https://acme.test/claims/roles'], 'the tenant namespace');

  // Both decisions are events for the product's backend (docs/events.md), in the tenant's outbox.
  const { rows } = await sql<{ type: string; data: Record<string, any> }>`
    select type, data from events where tenant_id = ${acme.id} and type like 'login.%' order by id`.execute(h.database.db);
  t.same(rows.map((r) => r.type), ['login.denied', 'login.denied', 'login.jit_provisioned']);
  t.match(rows[0]!.data, { auth0UserId: outsider.user_id, email: 'eve@evil.test', reason: DENY.notAssigned('acme'), userId: null });
  t.match(rows[2]!.data, { auth0UserId: insider.user_id, user: { email: 'ian@acme.test' }, connection: h.connection('enterprise').name });
  const jitUser = (rows[2]!.data.user as { id: string }).id;
  const created = await sql<{ n: string }>`select count(*) as n from events where tenant_id = ${acme.id} and type = 'user.created' and subject = ${jitUser}`.execute(h.database.db);
  t.equal(created.rows[0]!.n, '1', 'the directory user the login created has its user.created too');
});

t.test('situation 3: a first SSO login links to the existing database user with the same verified email; never on an unverified one', async (t) => {
  const h = await loginHarness(t);
  await createRoles(h.emulator, 'admin');
  const acme = await h.tenant('acme');
  const alice = await scimUser(acme, 'alice@acme.test');
  await scimUser(acme, 'bob@acme.test');
  const rules = { defaultGrant: { orgRoles: ['admin'] } };
  await acme.bind({ organization: { name: 'acme' }, connections: [database(h)] }, rules);
  await h.settle();
  const dbAlice = h.auth0User('alice@acme.test')!;
  const dbBob = h.auth0User('bob@acme.test')!;
  t.equal(dbAlice.email_verified, true);
  // The company turns on SSO.
  await acme.bind({ organization: { name: 'acme' }, connections: [database(h), enterprise(h)] }, rules);
  await h.settle();
  const org = h.org('acme')!;

  const sso = h.ssoUser('alice@acme.test');
  h.autoMember('acme', sso.user_id);
  const body = loginBody({ ...sso, email: 'alice@acme.test', email_verified: true }, h.connection('enterprise'), { id: org.id, name: 'acme' });
  const res = await postLogin(h.app, body);
  t.same(res.json, { decision: 'allow', claims: { [`${NS}org_id`]: org.id, [`${NS}roles`]: ['admin'] }, primaryUserId: dbAlice.user_id });
  const primary = h.emulator.emulator.state.users.get(dbAlice.user_id as string)!;
  t.match(primary.identities, [{ provider: 'auth0' }, { provider: 'samlp', connection: h.emulator.connections.enterprise.name }], 'SSO identity linked into the database user');
  t.equal(h.emulator.emulator.state.users.get(sso.user_id), undefined, 'no second user left');
  t.same(h.org('acme')!.members.get(dbAlice.user_id as string), ['admin'], 'membership and roles carried over');
  t.equal((await h.syncRow(acme.id, alice))?.auth0_user_id, dbAlice.user_id, 'the directory keeps the primary');

  const seq = h.lastSeq();
  const again = await postLogin(h.app, body);
  t.same(again.json, res.json, 'replay: same answer');
  t.same(h.writesSince(seq), [], 'replay: nothing linked twice');

  const ssoBob = h.ssoUser('bob@acme.test', { verified: false });
  h.autoMember('acme', ssoBob.user_id);
  const bobRes = await postLogin(h.app, loginBody({ ...ssoBob, email: 'bob@acme.test', email_verified: false }, h.connection('enterprise'), { id: org.id, name: 'acme' }));
  t.same(bobRes.json, { decision: 'deny', reason: DENY.unverified });
  t.equal(h.emulator.emulator.state.users.get(dbBob.user_id as string)!.identities.length, 1, 'unverified: not linked');
  t.ok(h.emulator.emulator.state.users.get(ssoBob.user_id), 'the SSO user stays separate');
  t.notOk(h.org('acme')!.members.has(ssoBob.user_id), 'its auto-granted membership removed');
});

t.test('a user of tenant A at tenant B\'s organization is denied and not provisioned there, even with JIT', async (t) => {
  const h = await loginHarness(t);
  const acme = await h.tenant('acme');
  const globex = await h.tenant('globex');
  await scimUser(acme, 'alice@acme.test');
  await scimUser(globex, 'gus@globex.test');
  await acme.bind({ organization: { name: 'acme' }, connections: [database(h)] });
  await globex.bind({ organization: { name: 'globex' }, connections: [database(h)], login: { jit: 'jit' } });
  await h.settle();
  const alice = h.auth0User('alice@acme.test')!;
  const globexOrg = h.org('globex')!;
  h.autoMember('globex', alice.user_id as string);
  const user = { user_id: alice.user_id as string, email: 'alice@acme.test', email_verified: true, identities: (alice.identities as { provider: string; user_id: string; connection: string }[]) };
  const res = await postLogin(h.app, loginBody(user, h.connection('database'), { id: globexOrg.id, name: 'globex' }));
  t.same(res.json, { decision: 'deny', reason: DENY.otherTenant });
  t.notOk(h.org('globex')!.members.has(alice.user_id as string), 'membership removed');
  const { rows } = await sql<{ n: string }>`select count(*) as n from users where tenant_id = ${globex.id}`.execute(h.database.db);
  t.equal(Number(rows[0]?.n), 1, 'not provisioned in tenant B');
  const home = await postLogin(h.app, loginBody(user, h.connection('database'), { id: h.org('acme')!.id, name: 'acme' }));
  t.equal(home.json.decision, 'allow', 'still fine at home');
});

t.test('a login outside any bound organization or connection gets no opinion; a malformed body is a 400', async (t) => {
  const h = await loginHarness(t);
  const res = await postLogin(h.app, loginBody({ user_id: 'google-oauth2|1', email: 'x@gmail.test', email_verified: true, identities: [] }, { id: 'con_x', name: 'google-oauth2', strategy: 'google-oauth2' }));
  t.same(res.json, { decision: 'allow' });
  const bad = await postLogin(h.app, { user: { email: 'x' } });
  t.equal(bad.status, 400);
  t.match(bad.json.message, /connection must be an object/);
});

t.test('hard time budget: a slow Auth0 does not hold the login; the answer comes within the budget and the queue finishes the work', async (t) => {
  const h = await loginHarness(t, { budgetMs: 300 });
  await createRoles(h.emulator, 'member');
  const acme = await h.tenant('acme');
  const id = await scimUser(acme, 'slow@acme.test');
  await acme.bind({ organization: { name: 'acme' }, connections: [enterprise(h)] }, { defaultGrant: { orgRoles: ['member'] } });
  await h.settle();
  const org = h.org('acme')!;
  const sso = h.ssoUser('slow@acme.test');
  h.autoMember('acme', sso.user_id);
  h.emulator.emulator.injectFault('*', { latencyMs: 400 });
  const started = Date.now();
  const res = await postLogin(h.app, loginBody({ ...sso, email: 'slow@acme.test', email_verified: true }, h.connection('enterprise'), { id: org.id, name: 'acme' }));
  const elapsed = Date.now() - started;
  t.ok(elapsed < 1500, `answered in ${elapsed} ms despite 400 ms per Auth0 call`);
  t.same(res.json, { decision: 'allow', claims: { [`${NS}org_id`]: org.id, [`${NS}roles`]: ['member'] } }, 'claims from the directory');
  h.emulator.emulator.clearFaults();
  await h.settle(30_000);
  t.same(h.org('acme')!.members.get(sso.user_id), ['member'], 'the role arrived through the queue');
  t.equal((await h.syncRow(acme.id, id))?.status, 'synced');
});

t.test('without PROVISIO_ACTION_SECRET the endpoint does not exist', async (t) => {
  const { buildApp } = await import('../../src/app.js');
  const { loadConfig } = await import('../../src/config.js');
  const { testDatabase } = await import('../helpers/db.js');
  const database = await testDatabase(t);
  const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent' }), database });
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/v1/auth0/post-login', headers: { 'content-type': 'application/json' }, payload: '{}' });
  t.equal(res.statusCode, 404);
});
