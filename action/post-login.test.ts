/**
 * The Post-Login Action as Auth0 runs it: `action/post-login.js` loaded as a CommonJS module whose only
 * `require`s may be Node built-ins (Actions here use no npm dependencies), called with `event`/`api`
 * objects shaped like Auth0's (research/auth0.md §4.2–4.3) and recorded `api` calls, against a real
 * Provisio listening on a port, synced into the Auth0 emulator.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { builtinModules, createRequire } from 'node:module';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import t from 'tap';
import type { EmuUser } from '../src/auth0/emulator/types.js';
import { DENY } from '../src/login/decision.js';
import { createRoles, scimUser, setActive } from '../test/helpers/sync.js';
import { ACTION_SECRET, loginHarness, type LoginHarness } from '../test/login/harness.js';

type Handler = (event: unknown, api: unknown) => Promise<void>;
type Call = [string, ...unknown[]];

const NS = 'https://provisio.dev/';
const UNAVAILABLE = 'Sign-in is temporarily unavailable. Please try again in a few minutes.';
const MISCONFIGURED = 'Sign-in is not available right now because of a configuration problem. Contact your administrator.';

/**
 * Loads the Action the way Auth0 does: module code run once, `exports.onExecutePostLogin` called per login.
 * `clockSkewMs` gives the Action (only) a wrong clock, as a skewed Auth0 host would have.
 */
function loadAction(clockSkewMs = 0): Handler {
  // action/ is CommonJS (action/package.json), as Auth0 runs the Action: this file is too.
  const file = join(__dirname, 'post-login.js');
  const source = readFileSync(file, 'utf8');
  const wrapper = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname, Date) {${source}\n})`, { filename: file }) as
    (exports: object, require: (id: string) => unknown, module: { exports: Record<string, unknown> }, filename: string, dir: string, date: typeof Date | (new () => Date)) => void;
  const real = createRequire(file);
  const restricted = (id: string): unknown => {
    const bare = id.replace(/^node:/, '');
    if (!builtinModules.includes(bare)) throw new Error(`Cannot find module '${id}': the Action must not depend on npm packages`);
    return real(id);
  };
  const module: { exports: Record<string, unknown> } = { exports: {} };
  const clock = clockSkewMs === 0 ? Date : class SkewedDate extends Date {
    static override now(): number {
      return Date.now() + clockSkewMs;
    }
  };
  wrapper(module.exports, restricted, module, file, dirname(file), clock);
  const handler = module.exports.onExecutePostLogin;
  if (typeof handler !== 'function') throw new Error('post-login.js must export onExecutePostLogin');
  return handler as Handler;
}

const onExecutePostLogin = loadAction();

/** An `api` object whose every method records its call (only the ones the Action may use matter). */
function recordingApi(): { api: object; calls: Call[] } {
  const calls: Call[] = [];
  const rec = (name: string) => (...args: unknown[]) => {
    calls.push([name, ...args]);
    return api;
  };
  const api = {
    access: { deny: rec('access.deny') },
    idToken: { setCustomClaim: rec('idToken.setCustomClaim') },
    accessToken: { setCustomClaim: rec('accessToken.setCustomClaim'), addScope: rec('accessToken.addScope'), removeScope: rec('accessToken.removeScope') },
    user: { setAppMetadata: rec('user.setAppMetadata'), setUserMetadata: rec('user.setUserMetadata') },
    authentication: { setPrimaryUser: rec('authentication.setPrimaryUser'), recordMethod: rec('authentication.recordMethod'), challengeWith: rec('authentication.challengeWith') },
    session: { revoke: rec('session.revoke') },
    multifactor: { enable: rec('multifactor.enable') },
    redirect: { sendUserTo: rec('redirect.sendUserTo'), canRedirect: () => true },
    transaction: { setMetadata: rec('transaction.setMetadata') },
    cache: { get: () => undefined, set: rec('cache.set'), delete: rec('cache.delete') },
  };
  return { api, calls };
}

/** An `event` like Auth0's for this user (as the emulator holds it) and connection. */
function auth0Event(h: LoginHarness, user: EmuUser, which: 'enterprise' | 'database', secrets: Record<string, string>, orgName?: string): object {
  const connection = h.connection(which);
  const org = orgName ? h.emulator.emulator.snapshot().organizations.find((o) => o.name === orgName) : undefined;
  return {
    user: {
      user_id: user.user_id, email: user.email, email_verified: user.email_verified, name: user.name, nickname: user.nickname, picture: user.picture,
      created_at: user.created_at, updated_at: user.updated_at, app_metadata: user.app_metadata, user_metadata: user.user_metadata,
      identities: user.identities.map((i) => ({ ...i, profileData: {} })),
    },
    connection: { ...connection, metadata: {} },
    ...(org ? { organization: { id: org.id, name: org.name, display_name: org.display_name ?? org.name, metadata: org.metadata ?? {} } } : {}),
    client: { client_id: 'app-client', name: 'Acme App', metadata: {} },
    request: { ip: '203.0.113.7', method: 'GET', query: {}, body: {}, geoip: {}, hostname: h.emulator.domain, user_agent: 'tap' },
    transaction: { id: 'tx_1', protocol: 'oidc-basic-profile', requested_scopes: ['openid', 'profile'], metadata: {} },
    stats: { logins_count: Math.max(1, user.logins_count) },
    tenant: { id: 'provisio-test' },
    authentication: { methods: [{ name: 'federated', timestamp: new Date().toISOString() }] },
    authorization: { roles: [] },
    secrets,
  };
}

async function run(event: object, handler: Handler = onExecutePostLogin): Promise<Call[]> {
  const { api, calls } = recordingApi();
  await handler(event, api);
  return calls;
}

function secretsFor(h: LoginHarness, extra: Record<string, string> = {}): Record<string, string> {
  return { PROVISIO_URL: h.url, PROVISIO_SECRET: ACTION_SECRET, ...extra };
}

function enterprise(h: LoginHarness) {
  const c = h.emulator.connections.enterprise;
  return { id: c.id, name: c.name, mode: 'enterprise', assignMembershipOnLogin: true };
}

function emuUser(h: LoginHarness, id: string): EmuUser {
  const u = h.emulator.emulator.state.users.get(id);
  if (!u) throw new Error(`no emulator user ${id}`);
  return u;
}

t.test('situation 1: IdP-initiated SSO without SCIM — JIT creates the org, adds the member with roles, records the user; claims on both tokens', async (t) => {
  const h = await loginHarness(t, { listen: true });
  await createRoles(h.emulator, 'member');
  const acme = await h.tenant('acme');
  await acme.bind({ organization: { name: 'acme', displayName: 'Acme Corp' }, connections: [enterprise(h)], login: { jit: 'jit' } }, { defaultGrant: { orgRoles: ['member'] } });
  const sso = h.ssoUser('ann@acme.test');
  const calls = await run(auth0Event(h, emuUser(h, sso.user_id), 'enterprise', secretsFor(h)));
  const org = h.org('acme');
  t.ok(org, 'organization created during the login');
  t.same(org!.members.get(sso.user_id), ['member'], 'member with the default role');
  t.same(calls, [
    ['idToken.setCustomClaim', `${NS}org_id`, org!.id], ['accessToken.setCustomClaim', `${NS}org_id`, org!.id],
    ['idToken.setCustomClaim', `${NS}roles`, ['member']], ['accessToken.setCustomClaim', `${NS}roles`, ['member']],
  ]);
  const rows = await h.database.db.selectFrom('users').select('user_name').where('tenant_id', '=', acme.id).execute();
  t.same(rows, [{ user_name: 'ann@acme.test' }], 'recorded with its tenant');

  // A replayed login (the same event again) decides the same and writes nothing in Auth0.
  await h.settle();
  const seq = h.lastSeq();
  t.same(await run(auth0Event(h, emuUser(h, sso.user_id), 'enterprise', secretsFor(h))), calls, 'replay: same calls');
  t.same(h.writesSince(seq), [], 'replay: no Auth0 write');
});

t.test('situation 1 with SCIM: the pre-provisioned user gets membership before the answer, and the mapped app_metadata', async (t) => {
  const h = await loginHarness(t, { listen: true });
  await createRoles(h.emulator, 'member');
  const acme = await h.tenant('acme');
  const ent = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
  const id = await scimUser(acme, 'sam@acme.test', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ent], [ent]: { department: 'R&D' } });
  await acme.bind({ organization: { name: 'acme' }, connections: [enterprise(h)], attributeMapping: [{ scim: `${ent}:department`, auth0: 'app_metadata.department' }] },
    { defaultGrant: { orgRoles: ['member'] } });
  await h.settle();
  const sso = h.ssoUser('sam@acme.test');
  h.autoMember('acme', sso.user_id);
  const calls = await run(auth0Event(h, emuUser(h, sso.user_id), 'enterprise', secretsFor(h), 'acme'));
  t.same(h.org('acme')!.members.get(sso.user_id), ['member'], 'membership and role before the answer');
  const orgId = h.org('acme')!.id;
  t.same(calls, [
    ['idToken.setCustomClaim', `${NS}org_id`, orgId], ['accessToken.setCustomClaim', `${NS}org_id`, orgId],
    ['idToken.setCustomClaim', `${NS}roles`, ['member']], ['accessToken.setCustomClaim', `${NS}roles`, ['member']],
    ['user.setAppMetadata', 'department', 'R&D'],
  ]);
  t.equal((await h.syncRow(acme.id, id))?.auth0_user_id, sso.user_id);
  await h.settle();
  t.equal(emuUser(h, sso.user_id).app_metadata.department, 'R&D', 'the worker wrote the rest');
});

t.test('situation 2: Auto-Membership grants a random employee membership; the Action denies and Provisio removes it', async (t) => {
  const h = await loginHarness(t, { listen: true });
  const acme = await h.tenant('acme');
  await scimUser(acme, 'assigned@acme.test');
  await acme.bind({ organization: { name: 'acme', displayName: 'Acme Corp' }, connections: [enterprise(h)] });
  await h.settle();
  const sso = h.ssoUser('random@acme.test');
  h.autoMember('acme', sso.user_id);
  const calls = await run(auth0Event(h, emuUser(h, sso.user_id), 'enterprise', secretsFor(h), 'acme'));
  t.same(calls, [['access.deny', DENY.notAssigned('Acme Corp')]]);
  t.notOk(h.org('acme')!.members.has(sso.user_id), 'membership removed: an invitation can be sent later');
});

t.test('situation 3: an existing database user\'s first SSO login is linked (same verified email) and continues as that user', async (t) => {
  const h = await loginHarness(t, { listen: true });
  await createRoles(h.emulator, 'admin');
  const acme = await h.tenant('acme');
  await scimUser(acme, 'dina@acme.test');
  const db = h.emulator.connections.database;
  const rules = { defaultGrant: { orgRoles: ['admin'] } };
  await acme.bind({ organization: { name: 'acme' }, connections: [{ id: db.id, name: db.name, mode: 'database' }] }, rules);
  await h.settle();
  const primary = h.auth0User('dina@acme.test')!;
  await acme.bind({ organization: { name: 'acme' }, connections: [{ id: db.id, name: db.name, mode: 'database' }, enterprise(h)] }, rules);
  await h.settle();
  const sso = h.ssoUser('dina@acme.test');
  h.autoMember('acme', sso.user_id);
  const calls = await run(auth0Event(h, emuUser(h, sso.user_id), 'enterprise', secretsFor(h), 'acme'));
  t.match(calls, [['idToken.setCustomClaim', `${NS}org_id`], ['accessToken.setCustomClaim'], ['idToken.setCustomClaim', `${NS}roles`, ['admin']], ['accessToken.setCustomClaim'],
    ['authentication.setPrimaryUser', primary.user_id]]);
  t.equal(emuUser(h, primary.user_id as string).identities.length, 2, 'identities linked');
  t.same(h.org('acme')!.members.get(primary.user_id as string), ['admin'], 'membership and roles carried over');
});

t.test('a deactivated user is denied and its sessions revoked', async (t) => {
  const h = await loginHarness(t, { listen: true });
  const acme = await h.tenant('acme');
  const id = await scimUser(acme, 'dan@acme.test');
  await acme.bind({ organization: { name: 'acme' }, connections: [enterprise(h)] });
  await h.settle();
  await setActive(acme, id, false);
  await h.settle();
  const sso = h.ssoUser('dan@acme.test');
  h.emulator.emulator.addSession(sso.user_id);
  const calls = await run(auth0Event(h, emuUser(h, sso.user_id), 'enterprise', secretsFor(h), 'acme'));
  t.same(calls, [['access.deny', DENY.deactivated]]);
  t.same(emuUser(h, sso.user_id).sessions, [], 'sessions revoked');
});

t.test('forged or expired request tokens: Provisio answers 401, the Action denies, nothing changes', async (t) => {
  const h = await loginHarness(t, { listen: true });
  const acme = await h.tenant('acme');
  await acme.bind({ organization: { name: 'acme' }, connections: [enterprise(h)], login: { jit: 'jit' } });
  const sso = h.ssoUser('fay@acme.test');
  const seq = h.lastSeq();
  const forged = await run(auth0Event(h, emuUser(h, sso.user_id), 'enterprise', { ...secretsFor(h), PROVISIO_SECRET: 'wrong-secret-wrong-secret-wrong-secret-00' }));
  t.same(forged, [['access.deny', MISCONFIGURED]], 'forged: denied');
  // The Action's clock 10 minutes behind: its token has expired when it arrives.
  const expired = await run(auth0Event(h, emuUser(h, sso.user_id), 'enterprise', secretsFor(h, { FAIL_MODE: 'open' })), loadAction(-10 * 60_000));
  t.same(expired, [['access.deny', MISCONFIGURED]], 'expired: denied even with FAIL_MODE=open (a 401 is not an outage)');
  t.same(h.writesSince(seq), [], 'no Auth0 write');
  const { n } = await h.database.db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  t.equal(Number(n), 0, 'nobody provisioned');
});

async function listening(server: Server | ReturnType<typeof createTcpServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

t.test('Provisio down, slow or failing: FAIL_MODE closed denies, open lets the login through without claims', async (t) => {
  const h = await loginHarness(t);
  h.ssoUser('gil@acme.test');
  const user = h.auth0User('gil@acme.test') as unknown as EmuUser;
  // Down: a port nobody listens on any more.
  const gone = createServer();
  const downUrl = await listening(gone);
  await new Promise((r) => gone.close(r));
  // Slow: accepts connections and never answers.
  const sockets: import('node:net').Socket[] = [];
  const silent = createTcpServer((s) => sockets.push(s));
  const slowUrl = await listening(silent);
  t.teardown(() => { for (const s of sockets) s.destroy(); silent.close(); });
  // Failing: every request is a 503.
  const failing = createServer((_req, res) => res.writeHead(503).end('{}'));
  const failingUrl = await listening(failing);
  t.teardown(() => failing.close());

  for (const [name, url] of [['down', downUrl], ['timeout', slowUrl], ['5xx', failingUrl]] as const) {
    const secrets = { PROVISIO_URL: url, PROVISIO_SECRET: ACTION_SECRET, TIMEOUT_MS: '300' };
    const started = Date.now();
    t.same(await run(auth0Event(h, user, 'enterprise', secrets)), [['access.deny', UNAVAILABLE]], `${name}: closed by default`);
    t.ok(Date.now() - started < 3000, `${name}: gave up within the timeout`);
    t.same(await run(auth0Event(h, user, 'enterprise', { ...secrets, FAIL_MODE: 'closed' })), [['access.deny', UNAVAILABLE]], `${name}: closed`);
    t.same(await run(auth0Event(h, user, 'enterprise', { ...secrets, FAIL_MODE: 'open' })), [], `${name}: open lets the login through untouched`);
  }
  t.same(await run(auth0Event(h, user, 'enterprise', { PROVISIO_URL: downUrl })), [['access.deny', MISCONFIGURED]], 'no secret: denied whatever FAIL_MODE');
});

t.test('a user of tenant A presenting at tenant B\'s organization is denied', async (t) => {
  const h = await loginHarness(t, { listen: true });
  const db = h.emulator.connections.database;
  const conn = { id: db.id, name: db.name, mode: 'database' };
  const acme = await h.tenant('acme');
  const globex = await h.tenant('globex');
  await scimUser(acme, 'al@acme.test');
  await scimUser(globex, 'gus@globex.test');
  await acme.bind({ organization: { name: 'acme' }, connections: [conn] });
  await globex.bind({ organization: { name: 'globex' }, connections: [conn], login: { jit: 'jit' } });
  await h.settle();
  const al = h.auth0User('al@acme.test')!;
  h.autoMember('globex', al.user_id as string);
  const calls = await run(auth0Event(h, emuUser(h, al.user_id as string), 'database', secretsFor(h), 'globex'));
  t.same(calls, [['access.deny', DENY.otherTenant]]);
  t.notOk(h.org('globex')!.members.has(al.user_id as string), 'membership in B removed');
  const home = await run(auth0Event(h, emuUser(h, al.user_id as string), 'database', secretsFor(h), 'acme'));
  t.match(home, [['idToken.setCustomClaim', `${NS}org_id`, h.org('acme')!.id]], 'allowed at home');
});
