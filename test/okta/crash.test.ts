import { mkdtempSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startAuth0Emulator } from '../../src/auth0/emulator/server.js';
import { openDatabase } from '../../src/db/client.js';
import { findTenantByName } from '../../src/db/tenants.js';
import { bindOkta } from '../../src/okta/bind.js';
import { startOktaEmulator } from '../../src/okta/emulator/server.js';
import { startOktaQueue } from '../../src/okta/queue.js';
import { SecretBox } from '../../src/secrets.js';
import { SyncQueue } from '../../src/sync/queue.js';
import { freePort, runProvisio as cli } from '../helpers/cli.js';
import { TEST_BACKEND } from '../helpers/db.js';
import { childDatabase, serveChildren } from '../helpers/serve-child.js';
import { until } from '../helpers/wait.js';

const USERS = 30;

t.test('provisio serve killed (-9) in the middle of the Okta mirror: after a restart each user is mirrored exactly once', {
  skip: TEST_BACKEND !== 'postgres' && 'needs a PostgreSQL shared by this process and the server child (PGlite is single-process)',
  timeout: 120_000,
}, async (t) => {
  const { schema, queueSchema, url, admin } = await childDatabase(t, 'oktacrash');
  const auth0 = await startAuth0Emulator({ plan: 'off' });
  t.teardown(() => auth0.close());
  // Okta's user-creation budget paces the mirror to a few users a second, so the kill lands in its middle.
  const okta = await startOktaEmulator({ rateLimits: { 'users': 6 }, rateWindowMs: 1000 });
  t.teardown(() => okta.close());

  const key = randomBytes(32).toString('base64');
  const port = await freePort();
  const env: Record<string, string> = {
    LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: url.toString(), QUEUE_SCHEMA: queueSchema, SYNC_JOB_EXPIRE_SECONDS: '10',
    PROVISIO_ENCRYPTION_KEY: key, OKTA_RATE_RESERVE_PERCENT: '0',
    AUTH0_BASE_URL: auth0.baseUrl, AUTH0_DOMAIN: auth0.domain, AUTH0_CLIENT_ID: auth0.client.clientId, AUTH0_CLIENT_SECRET: auth0.client.clientSecret,
  };
  const servers = serveChildren(t, env);
  const first = await servers.start();
  const created = await cli(env, 'tenant', 'create', 'acme', '--json');
  t.equal(created.code, 0, created.err);
  const token = JSON.parse(created.out).token as string;
  for (let i = 0; i < USERS; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/scim/v2/acme/Users`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `u${i}@acme.test`, emails: [{ value: `u${i}@acme.test`, primary: true }] }),
    });
    if (res.status !== 201) throw new Error(await res.text());
  }
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'provisio-okta-crash-')), 'binding.json');
  writeFileSync(file, JSON.stringify({ binding: { organization: { name: 'acme' }, connections: [{ id: auth0.connections.database.id, name: auth0.connections.database.name, mode: 'database' }] } }));
  t.equal((await cli(env, 'tenant', 'bind', 'acme', '--file', file)).code, 0);

  // Bind Okta before the Auth0 import ends, from this process (the binding is a row; the server reads it).
  const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '/nonexistent' });
  t.teardown(() => database.close());
  const queue = await SyncQueue.start(database.pool, { schema: queueSchema, retryLimit: 8, expireInSeconds: 10 });
  t.teardown(() => queue.stop());
  const oktaQueue = await startOktaQueue(queue.boss, { sync: { retryLimit: 8, jobExpireSeconds: 10 } });
  const tenant = (await findTenantByName(database.db, 'acme'))!;
  await bindOkta(database.db, oktaQueue, tenant.id, { orgUrl: okta.baseUrl, auth: { method: 'api-token', token: okta.token } }, { secrets: SecretBox.fromKey(key) });

  const oktaUsers = () => [...okta.state.users.values()];
  await until('some Okta users', () => oktaUsers().length >= 5, 45_000);
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const atKill = oktaUsers().length;
  t.ok(atKill < USERS, `killed in the middle of the mirror (${atKill} of ${USERS} Okta users)`);

  await servers.start();
  const mirrored = async () => {
    const { rows } = await admin.query(`select count(*) filter (where status = 'mirrored') as n from ${schema}.okta_mirror`);
    return Number(rows[0].n) === USERS;
  };
  try {
    await until('every user mirrored after the restart', mirrored, 60_000);
  } catch (err) {
    const rows = await admin.query(`select status, count(*) as n from ${schema}.okta_mirror group by status`);
    const jobs = await admin.query(`select name, state, count(*) as n from ${queueSchema}.job group by 1, 2`);
    throw new Error(`${(err as Error).message}: okta_mirror ${JSON.stringify(rows.rows)}, jobs ${JSON.stringify(jobs.rows)}, Okta users ${oktaUsers().length}; server output:\n${servers.output().slice(-3000)}`);
  }
  const users = oktaUsers();
  t.equal(users.length, USERS, 'as many Okta users as directory users');
  const auth0Users = auth0.emulator.snapshot().users;
  let bad = 0;
  for (let i = 0; i < USERS; i++) {
    const mine = users.filter((u) => String(u.profile.login).toLowerCase() === `u${i}@acme.test`);
    const auth0User = auth0Users.find((u) => u.email === `u${i}@acme.test`);
    if (mine.length !== 1 || mine[0]!.profile.auth0UserId !== auth0User?.user_id || (auth0User?.app_metadata as Record<string, unknown> | undefined)?.okta_user_id !== mine[0]!.id) {
      bad++;
      t.fail(`u${i}@acme.test: ${mine.length} Okta user(s), linked: ${mine[0]?.profile.auth0UserId === auth0User?.user_id}`);
    }
  }
  t.equal(bad, 0, 'every user exactly once in Okta, linked both ways');
  const { rows } = await admin.query(`select count(*) as n from ${queueSchema}.job where state = 'failed'`);
  t.equal(Number(rows[0].n), 0, 'no job ended failed');
});
