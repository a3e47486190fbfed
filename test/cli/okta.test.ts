import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import t from 'tap';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import type { Database } from '../../src/db/schema.js';
import { SecretBox } from '../../src/secrets.js';
import { cliEnv, runProvisio } from '../helpers/cli.js';
import { TEST_BACKEND } from '../helpers/db.js';

const TOKEN = `00${randomBytes(20).toString('base64url')}`;
const TOKEN_2 = `00${randomBytes(20).toString('base64url')}`;

/** Runs `fn` on the CLI's database, opened and closed around it (PGlite admits one owner at a time). */
async function onDatabase<T>(env: Record<string, string>, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const config = loadConfig(env);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    return await fn(database.db);
  } finally {
    await database.close();
  }
}

async function storedBinding(env: Record<string, string>): Promise<Record<string, any> | undefined> {
  return onDatabase(env, async (db) => (await db.selectFrom('tenant_okta_bindings').select('binding').executeTakeFirst())?.binding);
}

t.test('okta bind, show, group-rules, retry and unbind; credentials never leave sealed', async (t) => {
  const key = randomBytes(32).toString('base64');
  const env: Record<string, string> = { ...(await cliEnv(t)), PROVISIO_ENCRYPTION_KEY: key };
  const box = SecretBox.fromKey(key);
  const dir = mkdtempSync(path.join(tmpdir(), 'provisio-okta-'));
  const file = (name: string, content: unknown) => {
    const p = path.join(dir, name);
    writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  };
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const pemBody = pem.split('\n')[1]!;
  // Every line the CLI printed, checked at the end for credentials.
  const printed: string[] = [];
  const cli = async (e: Record<string, string>, ...argv: string[]) => {
    const result = await runProvisio(e, ...argv);
    printed.push(result.out, result.err);
    return result;
  };

  t.equal((await cli(env, 'tenant', 'create', 'acme')).code, 0);
  const tokenFile = file('okta.json', { orgUrl: 'https://acme.okta.com', auth: { method: 'api-token', token: TOKEN } });

  const early = await cli(env, 'okta', 'bind', 'acme', '--file', tokenFile);
  t.equal(early.code, 2, 'a tenant not bound to Auth0 has nothing to mirror');
  t.match(early.err, /bind the tenant to Auth0 first/);

  const auth0 = { binding: { organization: { name: 'acme' }, connections: [{ id: 'con_1', name: 'Username-Password-Authentication', mode: 'database' }] } };
  t.equal((await cli(env, 'tenant', 'bind', 'acme', '--file', file('auth0.json', auth0))).code, 0);
  const { tenantId, alice, bob } = await onDatabase(env, async (db) => {
    const tenant = await db.selectFrom('tenants').select('id').where('name', '=', 'acme').executeTakeFirstOrThrow();
    const ids = { alice: randomUUID(), bob: randomUUID(), carol: randomUUID() };
    for (const [name, id] of Object.entries(ids)) {
      await sql`insert into users (tenant_id, id, user_name, active, data, updated_at) values (${tenant.id}, ${id}, ${`${name}@acme.test`}, true, '{}', now())`.execute(db);
    }
    // Alice and Bob are in Auth0; Carol is not yet (her sync is pending): only the first two are mirrored.
    for (const [id, status, auth0Id] of [[ids.alice, 'synced', 'auth0|alice'], [ids.bob, 'synced', 'auth0|bob'], [ids.carol, 'pending', null]] as const) {
      await sql`insert into user_sync (tenant_id, user_id, auth0_user_id, status, changed_at) values (${tenant.id}, ${id}, ${auth0Id}, ${status}, now())
        on conflict (tenant_id, user_id) do update set auth0_user_id = excluded.auth0_user_id, status = excluded.status`.execute(db);
    }
    return { tenantId: tenant.id, ...ids };
  });

  // Invalid documents: exit 2 naming the field, nothing stored.
  const invalid: [string, unknown, RegExp][] = [
    ['bad orgUrl', { orgUrl: 'acme dot okta', auth: { token: TOKEN } }, /okta\.orgUrl must be a URL/],
    ['http to a remote host', { orgUrl: 'http://acme.okta.com', auth: { token: TOKEN } }, /okta\.orgUrl must use https/],
    ['no login mapping', { profileMapping: [{ scim: 'emails.value', okta: 'email' }] }, /okta\.profileMapping must map Okta's required "login"/],
    ['bad attribute name', { profileMapping: [{ scim: 'userName', okta: 'login' }, { scim: 'userName', okta: 'email' }, { scim: 'title', okta: 'job-title' }] }, /okta\.profileMapping\[2\]\.okta/],
    ['bad auth0IdAttribute', { auth0IdAttribute: '9lives' }, /okta\.auth0IdAttribute/],
    ['duplicate rule ids', { groupRules: [{ id: 'x', match: { value: 'A' }, oktaGroup: { id: '00g1' } }, { id: 'x', match: { value: 'B' }, oktaGroup: { name: 'B' } }] }, /okta\.groupRules: two rules have the id "x"/],
    ['unknown onDelete', { onDelete: 'shred' }, /okta\.onDelete must be one of deactivate, delete/],
  ];
  for (const [what, document, message] of invalid) {
    const res = await cli(env, 'okta', 'bind', 'acme', '--file', file('invalid.json', document));
    t.equal(res.code, 2, what);
    t.match(res.err, message, what);
  }
  if (TEST_BACKEND === 'postgres') {
    // (PGlite keeps a generated key in DATA_DIR.)
    const noKey = await cli({ ...env, PROVISIO_ENCRYPTION_KEY: '' }, 'okta', 'bind', 'acme', '--file', tokenFile);
    t.equal(noKey.code, 2, 'a credential is never stored unsealed');
    t.match(noKey.err, /PROVISIO_ENCRYPTION_KEY/);
  }
  const production = await cli({ ...env, NODE_ENV: 'production' }, 'okta', 'bind', 'acme');
  t.equal(production.code, 2, 'production refuses the emulator');
  t.match(production.err, /okta\.orgUrl is required in production/);
  const both = await cli(env, 'okta', 'bind', 'acme', '--token-file', tokenFile, '--client-id', '0oa1');
  t.equal(both.code, 2);
  t.match(both.err, /choose one/);
  t.equal(await storedBinding(env), undefined, 'nothing stored by a refused bind');

  // Bind from a file: the users already in Auth0 are queued, the token stored sealed.
  const bound = await cli(env, 'okta', 'bind', 'acme', '--file', tokenFile);
  t.equal(bound.code, 0, bound.err);
  t.match(bound.out, /Tenant "acme" mirrors into Okta org https:\/\/acme\.okta\.com; 2 user\(s\) already in Auth0 queued/);
  const stored = (await storedBinding(env))!;
  t.notOk(JSON.stringify(stored).includes(TOKEN), 'the stored row holds no plain token');
  t.match(stored.auth.sealedToken, /^v1:/);
  t.equal(box.open(stored.auth.sealedToken), TOKEN, 'it holds the sealed token');
  const queued = await onDatabase(env, async (db) => ({
    mirrors: await db.selectFrom('okta_mirror').select(['user_id', 'status']).where('tenant_id', '=', tenantId).orderBy('user_id').execute(),
    jobs: (await sql<{ user_id: string }>`select data->>'userId' as user_id from ${sql.table(`${env.QUEUE_SCHEMA}.job`)} where name = 'okta' and group_id = ${tenantId}`.execute(db)).rows,
  }));
  t.same(queued.mirrors, [{ user_id: alice, status: 'pending' }, { user_id: bob, status: 'pending' }].sort((a, b) => a.user_id.localeCompare(b.user_id)), 'Alice and Bob pending, Carol not');
  t.same(queued.jobs.map((j) => j.user_id).sort(), [alice, bob].sort(), 'one okta job per user');

  const shown = await cli(env, 'okta', 'show', 'acme');
  t.equal(shown.code, 0, shown.err);
  t.match(shown.out, /mirrors into Okta org https:\/\/acme\.okta\.com/);
  t.match(shown.out, /API token \(stored sealed\)/);
  t.match(shown.out, /login ← userName/);
  t.match(shown.out, /firstName ← name\.givenName, then displayName, then userName/, 'fallbacks in order');
  t.match(shown.out, /mirrors: pending: 2/);
  const shownJson = JSON.parse((await cli(env, 'okta', 'show', 'acme', '--json')).out);
  t.match(shownJson, { binding: { orgUrl: 'https://acme.okta.com', target: 'okta', auth: { method: 'api-token', token: 'set' }, onDelete: 'deactivate', activation: 'federated', auth0IdAttribute: 'auth0UserId' }, counts: { pending: 2 } });
  t.equal((await cli(env, 'okta', 'bind', 'acme', '--file', tokenFile, '--json')).code, 0);

  // Group rules: replaced alone, the rest of the binding (sealed token included) untouched.
  const rules = [
    { id: 'admins', match: { by: 'externalId', value: 'grp-admins' }, oktaGroup: { id: '00gadmins' } },
    { match: { by: 'displayName', value: 'Staff' }, oktaGroup: { name: 'Acme Staff', description: 'From Provisio' } },
  ];
  const before = (await storedBinding(env))!;
  const set = await cli(env, 'okta', 'group-rules', 'set', 'acme', '--file', file('rules.json', rules));
  t.equal(set.code, 0, set.err);
  t.match(set.out, /Group rules of "acme" replaced \(2\); 2 user\(s\) queued/);
  const after = (await storedBinding(env))!;
  t.same({ ...after, groupRules: before.groupRules }, before, 'only the group rules changed');
  const list = await cli(env, 'okta', 'group-rules', 'list', 'acme');
  t.match(list.out, /admins\texternalId=grp-admins\t→ Okta group 00gadmins/);
  t.match(list.out, /okta-rule-2\tdisplayName=Staff\t→ Okta group "Acme Staff" \(created if missing\)/);
  t.same(JSON.parse((await cli(env, 'okta', 'group-rules', 'list', 'acme', '--json')).out).map((r: { id: string }) => r.id), ['admins', 'okta-rule-2']);
  t.equal((await cli(env, 'okta', 'group-rules', 'set', 'acme', '--file', file('rules2.json', { groupRules: [rules[0]] }))).code, 0, '{"groupRules": [...]} works too');
  const badRules = await cli(env, 'okta', 'group-rules', 'set', 'acme', '--file', file('bad-rules.json', [{ match: { by: 'color', value: 'x' }, oktaGroup: { id: '00g' } }]));
  t.equal(badRules.code, 2);
  t.match(badRules.err, /okta\.groupRules\[0\]\.match\.by/);
  t.equal((await storedBinding(env))!.groupRules.length, 1, 'a refused rule changed nothing');

  // Bind through flags: an API token from a file (its newline dropped), lifecycle options; the group rules stay.
  const flags = await cli(env, 'okta', 'bind', 'acme', '--org-url', 'https://acme-2.okta.com/', '--token-file', file('token.txt', `${TOKEN_2}\n`), '--on-delete', 'delete', '--activation', 'staged');
  t.equal(flags.code, 0, flags.err);
  t.match(flags.out, /mirrors into Okta org https:\/\/acme-2\.okta\.com;/);
  const flagged = (await storedBinding(env))!;
  t.equal(box.open(flagged.auth.sealedToken), TOKEN_2);
  t.match(flagged, { orgUrl: 'https://acme-2.okta.com', onDelete: 'delete', activation: 'staged', groupRules: [{ id: 'admins' }] }, 'omitted group rules keep the stored ones');
  t.equal(flagged.profileMapping.length, 9, 'the default mapping');
  const badChoice = await cli(env, 'okta', 'bind', 'acme', '--org-url', 'https://acme.okta.com', '--token-file', tokenFile, '--on-delete', 'shred');
  t.equal(badChoice.code, 2);

  // An OAuth service app: client id, private key file, key id.
  const keyed = await cli(env, 'okta', 'bind', 'acme', '--org-url', 'https://acme.okta.com', '--client-id', '0oa1service', '--private-key-file', file('key.pem', pem), '--key-id', 'kid-1', '--json');
  t.equal(keyed.code, 0, keyed.err);
  t.match(JSON.parse(keyed.out), { binding: { auth: { method: 'private-key', clientId: '0oa1service', keyId: 'kid-1', privateKey: 'set', scopes: ['okta.users.manage', 'okta.groups.manage'] } }, queued: 2 });
  const keyRow = (await storedBinding(env))!;
  t.notOk(JSON.stringify(keyRow).includes('PRIVATE KEY'), 'the stored row holds no plain key');
  t.equal(box.open(keyRow.auth.sealedPrivateKey), pem.trim());
  t.match((await cli(env, 'okta', 'show', 'acme')).out, /OAuth service app 0oa1service, key kid-1, private key stored sealed/);

  // Retry: failed mirrors pending again and queued.
  await onDatabase(env, async (db) => {
    await db.updateTable('okta_mirror').set({ status: 'failed', last_error: 'E0000006 permission denied', attempts: 3 }).where('tenant_id', '=', tenantId).execute();
    await sql`delete from ${sql.table(`${env.QUEUE_SCHEMA}.job`)} where name = 'okta'`.execute(db);
  });
  const one = await cli(env, 'okta', 'retry', 'acme', '--user', 'ALICE@acme.test');
  t.equal(one.code, 0, one.err);
  t.match(one.out, /1 failed mirror\(s\) queued again/);
  const rest = await cli(env, 'okta', 'retry', 'acme', '--json');
  t.same(JSON.parse(rest.out), { queued: 1 });
  t.match((await cli(env, 'okta', 'retry', 'acme')).out, /No failed mirrors/);
  const retried = await onDatabase(env, async (db) => ({
    mirrors: await db.selectFrom('okta_mirror').select(['status', 'attempts']).where('tenant_id', '=', tenantId).execute(),
    jobs: (await sql<{ user_id: string }>`select data->>'userId' as user_id from ${sql.table(`${env.QUEUE_SCHEMA}.job`)} where name = 'okta'`.execute(db)).rows,
  }));
  t.same(retried.mirrors, [{ status: 'pending', attempts: 0 }, { status: 'pending', attempts: 0 }]);
  t.same(retried.jobs.map((j) => j.user_id).sort(), [alice, bob].sort(), 'both queued again');
  const nobody = await cli(env, 'okta', 'retry', 'acme', '--user', 'nobody@acme.test');
  t.equal(nobody.code, 1);
  t.match(nobody.err, /no user "nobody@acme\.test" in tenant "acme"/);

  // Unbind.
  const unbound = await cli(env, 'okta', 'unbind', 'acme');
  t.equal(unbound.code, 0, unbound.err);
  t.match(unbound.out, /no longer mirrors into Okta/);
  t.equal(await storedBinding(env), undefined);
  const gone = await cli(env, 'okta', 'show', 'acme');
  t.equal(gone.code, 1);
  t.match(gone.err, /tenant "acme" is not bound to Okta/);
  t.equal((await cli(env, 'okta', 'unbind', 'acme')).code, 1);
  t.equal((await cli(env, 'okta', 'group-rules', 'set', 'acme', '--file', file('rules.json', rules))).code, 1, 'no binding to change the rules of');
  t.equal((await cli(env, 'okta', 'retry', 'acme')).code, 1);
  const unknown = await cli(env, 'okta', 'show', 'nope');
  t.not(unknown.code, 0);
  t.match(unknown.err, /nope/);

  // The emulator binding of the zero-config start: no orgUrl, no credentials.
  const emulated = await cli(env, 'okta', 'bind', 'acme');
  t.equal(emulated.code, 0, emulated.err);
  t.match(emulated.out, /mirrors into the built-in Okta emulator; 2 user\(s\)/);

  const all = printed.join('\n');
  for (const secret of [TOKEN, TOKEN_2, pemBody]) t.notOk(all.includes(secret), 'no credential in any output');
});
