import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import { startAuth0Emulator } from '../../src/auth0/emulator/server.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import { cliEnv, runProvisio as cli } from '../helpers/cli.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

/** Creates users and groups over SCIM on the CLI's database (the app is closed again: PGlite has one owner). */
async function seedDirectory(env: Record<string, string>, token: string): Promise<void> {
  const config = loadConfig(env);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const app = await buildApp({ config, database, logger: pino({ level: 'silent' }) });
  try {
    const post = async (p: string, body: unknown) => {
      const res = await app.inject({ method: 'POST', url: `/scim/v2/acme${p}`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' }, payload: JSON.stringify(body) });
      if (res.statusCode !== 201) throw new Error(res.body);
      return JSON.parse(res.body).id as string;
    };
    const alice = await post('/Users', { schemas: [USER], userName: 'alice@acme.test', emails: [{ value: 'alice@acme.test', primary: true }] });
    const bob = await post('/Users', { schemas: [USER], userName: 'bob@acme.test', emails: [{ value: 'bob@acme.test', primary: true }] });
    await post('/Groups', { schemas: [GROUP], displayName: 'Administrators', externalId: 'grp-admins', members: [{ value: alice }] });
    await post('/Groups', { schemas: [GROUP], displayName: 'Staff', members: [{ value: alice }, { value: bob }] });
  } finally {
    await app.close();
    await database.close();
  }
}

const RULES = {
  rules: [
    { id: 'admins', match: { by: 'externalId', value: 'grp-admins' }, grant: { orgRoles: ['admin'] } },
    { id: 'staff', match: { by: 'displayName', value: 'Staff' }, grant: { orgRoles: ['member'], tenantRoles: ['reader'] } },
  ],
};

t.test('bind, rules list/set/test, status with the rule behind each role, reconcile --dry-run --json, bad input', async (t) => {
  const env = await cliEnv(t);
  const emu = await startAuth0Emulator({ plan: 'off' });
  t.teardown(() => emu.close());
  const dir = mkdtempSync(path.join(tmpdir(), 'provisio-bind-'));
  const file = (name: string, content: unknown) => {
    const p = path.join(dir, name);
    writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  };

  const created = await cli(env, 'tenant', 'create', 'acme', '--json');
  t.equal(created.code, 0, created.err);
  await seedDirectory(env, JSON.parse(created.out).token);

  const binding = { organization: { name: 'acme', displayName: 'Acme Corp' }, connections: [{ id: emu.connections.database.id, name: emu.connections.database.name, mode: 'database' }] };
  const bound = await cli(env, 'tenant', 'bind', 'acme', '--file', file('binding.json', { binding, rules: RULES, guard: { minUsers: 5 } }));
  t.equal(bound.code, 0, bound.err);
  t.match(bound.out, /Tenant "acme" bound to Auth0 organization "acme"; its users are queued for sync/);

  const list = await cli(env, 'rules', 'list', 'acme');
  t.equal(list.code, 0, list.err);
  t.match(list.out, /mode: all-matching/);
  t.match(list.out, /0\tadmins\texternalId=grp-admins\torg roles: admin\ttenant roles: -/);
  t.match(list.out, /1\tstaff\tdisplayName=Staff\torg roles: member\ttenant roles: reader/);
  t.same(JSON.parse((await cli(env, 'rules', 'list', 'acme', '--json')).out).rules.map((r: { id: string }) => r.id), ['admins', 'staff']);

  const tested = await cli(env, 'rules', 'test', 'acme', '--groups', 'Staff');
  t.equal(tested.code, 0, tested.err);
  t.match(tested.out, /#1 staff \[displayName=Staff\]: applies/);
  t.match(tested.out, /org role member ← rule staff/);
  t.match(tested.out, /tenant role reader ← rule staff/);
  t.notMatch(tested.out, /org role admin/, 'Staff alone grants no admin');

  const status = await cli(env, 'status', 'acme', 'alice@acme.test');
  t.equal(status.code, 0, status.err);
  t.match(status.out, /org acme/);
  t.match(status.out, /role admin — rule admins via group "Administrators"/, 'the rule behind admin');
  t.match(status.out, /role member — rule staff via group "Staff"/, 'the rule behind member');
  t.match(status.out, /tenant role reader — rule staff via group "Staff"/);
  t.match(status.out, /applied: pending/, 'queued, not yet synced (no worker runs here)');
  const statusJson = JSON.parse((await cli(env, 'status', 'acme', 'bob@acme.test', '--json')).out);
  t.match(statusJson.desired.organizations, [{ name: 'acme', roles: [{ name: 'member', because: /rule staff/ }] }]);
  const nobody = await cli(env, 'status', 'acme', 'nobody@acme.test');
  t.equal(nobody.code, 1, 'unknown user: not found (as token revoke of an unknown id)');
  t.match(nobody.err, /no user "nobody@acme\.test" in tenant "acme"/);
  t.match((await cli(env, 'status', 'acme')).out, /pending: 2/);

  // reconcile reads the emulator (AUTH0_BASE_URL only: the domain defaults to the emulator's).
  const auth0 = { AUTH0_BASE_URL: emu.baseUrl, AUTH0_CLIENT_ID: emu.client.clientId, AUTH0_CLIENT_SECRET: emu.client.clientSecret };
  const dry = await cli({ ...env, ...auth0 }, 'reconcile', '--tenant', 'acme', '--dry-run', '--json');
  t.equal(dry.code, 0, dry.err);
  const report = JSON.parse(dry.out);
  t.equal(report.dryRun, true);
  t.equal(report.tenants.length, 1);
  t.equal(report.tenants[0].tenant, 'acme');
  t.equal(report.tenants[0].drift.length, 2, 'both users missing from Auth0');
  for (const d of report.tenants[0].drift) {
    const types = d.actions.map((a: { type: string }) => a.type);
    t.ok(types.includes('createUser') && types.includes('addMembership') && types.includes('addOrgRoles'), `plan for ${d.userId}: ${types.join(', ')}`);
    t.ok(d.actions.every((a: { reason: string }) => typeof a.reason === 'string' && a.reason.length > 0), 'every action has its reason');
  }
  t.equal(emu.emulator.snapshot().users.length, 0, 'dry run created nothing');
  t.equal(emu.emulator.snapshot().organizations.length, 0, 'dry run created no organization');
  const noAuth0 = await cli(env, 'reconcile', '--tenant', 'acme', '--dry-run');
  t.equal(noAuth0.code, 2);
  t.match(noAuth0.err, /AUTH0_DOMAIN|AUTH0_BASE_URL/);

  const replaced = await cli(env, 'rules', 'set', 'acme', '--file', file('rules.json', { rules: [{ id: 'staff', match: { by: 'displayName', value: 'Staff' }, grant: { orgRoles: ['viewer'] } }] }));
  t.equal(replaced.code, 0, replaced.err);
  t.match(replaced.out, /Rules of "acme" replaced \(1\)/);
  t.match((await cli(env, 'status', 'acme', 'alice@acme.test')).out, /role viewer — rule staff/);
  t.notMatch((await cli(env, 'status', 'acme', 'alice@acme.test')).out, /role admin/, 'the old rule is gone');

  // Bad files and documents: exit 2 with the file or the field named.
  const missing = await cli(env, 'tenant', 'bind', 'acme', '--file', path.join(dir, 'nope.json'));
  t.equal(missing.code, 2);
  t.match(missing.err, /cannot read .*nope\.json/);
  const badJson = await cli(env, 'tenant', 'bind', 'acme', '--file', file('bad.json', '{"binding": '));
  t.equal(badJson.code, 2);
  t.match(badJson.err, /cannot read .*bad\.json/);
  const noName = await cli(env, 'tenant', 'bind', 'acme', '--file', file('noname.json', { binding: { ...binding, organization: { displayName: 'x' } } }));
  t.equal(noName.code, 2);
  t.match(noName.err, /binding\.organization\.name/);
  const badMode = await cli(env, 'tenant', 'bind', 'acme', '--file', file('mode.json', { binding: { ...binding, connections: [{ ...binding.connections[0], mode: 'ldap' }] } }));
  t.equal(badMode.code, 2);
  t.match(badMode.err, /binding\.connections\[0\]\.mode/);
  const badRule = await cli(env, 'rules', 'set', 'acme', '--file', file('badrule.json', { rules: [{ match: { by: 'color', value: 'x' } }] }));
  t.equal(badRule.code, 2);
  t.match(badRule.err, /rules\.rules\[0\]\.match\.by/);
  const badTest = await cli(env, 'rules', 'test', 'acme', '--groups', 'Staff', '--file', file('badtest.json', { rules: [{ match: { by: 'displayName' } }] }));
  t.equal(badTest.code, 2);
  t.match(badTest.err, /rules\.rules\[0\]\.match\.value/);
  const badGuard = await cli(env, 'tenant', 'bind', 'acme', '--file', file('guard.json', { binding, guard: { maxShare: 2 } }));
  t.equal(badGuard.code, 2);
  t.match(badGuard.err, /guard\.maxShare/);
  t.match((await cli(env, 'rules', 'list', 'acme')).out, /viewer/, 'a refused document changed nothing');
});
