import path from 'node:path';
import t from 'tap';
import { startAuth0Emulator } from '../../src/auth0/emulator/server.js';
import { freePort, runProvisio as cli } from '../helpers/cli.js';
import { TEST_BACKEND } from '../helpers/db.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { until } from '../helpers/wait.js';
import { childDatabase, serveChildren } from '../helpers/serve-child.js';

const USERS = 40;

t.test('provisio serve killed (-9) in the middle of an import: after a restart every user exists once and is a member', {
  skip: TEST_BACKEND !== 'postgres' && 'needs a PostgreSQL shared by this process and the server child (PGlite is single-process)',
  timeout: 90_000,
}, async (t) => {
  const { schema, queueSchema, url, admin } = await childDatabase(t, 'crash');
  const emu = await startAuth0Emulator({ plan: 'off' });
  t.teardown(() => emu.close());
  // A slow user creation makes the import take a few seconds, so the kill lands in its middle.
  emu.emulator.injectFault('POST /users', { latencyMs: 400 });

  const port = await freePort();
  const env: Record<string, string> = {
    LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: url.toString(), QUEUE_SCHEMA: queueSchema, SYNC_JOB_EXPIRE_SECONDS: '10',
    AUTH0_BASE_URL: emu.baseUrl, AUTH0_DOMAIN: emu.domain, AUTH0_CLIENT_ID: emu.client.clientId, AUTH0_CLIENT_SECRET: emu.client.clientSecret,
  };
  const servers = serveChildren(t, env);
  const serve = servers.start;

  const first = await serve();
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
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'provisio-crash-')), 'binding.json');
  writeFileSync(file, JSON.stringify({ binding: { organization: { name: 'acme' }, connections: [{ id: emu.connections.database.id, name: emu.connections.database.name, mode: 'database' }] } }));
  const bound = await cli(env, 'tenant', 'bind', 'acme', '--file', file);
  t.equal(bound.code, 0, bound.err);

  const count = () => emu.emulator.snapshot().users.length;
  await until('some users to be created', () => count() >= 5, 30_000);
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const atKill = count();
  t.ok(atKill < USERS, `killed in the middle of the import (${atKill} of ${USERS} users created)`);

  await serve();
  const synced = async () => {
    const { rows } = await admin.query(`select count(*) filter (where status = 'synced') as synced from ${schema}.user_sync`);
    return Number(rows[0].synced) === USERS;
  };
  try {
    await until('every user to be synced after the restart', synced, 45_000);
  } catch (err) {
    const sync = await admin.query(`select status, count(*) as n from ${schema}.user_sync group by status`);
    const jobs = await admin.query(`select name, state, count(*) as n from ${queueSchema}.job group by 1, 2`);
    throw new Error(`${(err as Error).message}: user_sync ${JSON.stringify(sync.rows)}, jobs ${JSON.stringify(jobs.rows)}, Auth0 users ${count()}; server output:\n${servers.output().slice(-3000)}`);
  }

  const state = emu.emulator.snapshot();
  const org = state.organizations.filter((o) => o.name === 'acme');
  t.equal(org.length, 1, 'one organization');
  t.equal(state.users.length, USERS, 'as many Auth0 users as directory users');
  let bad = 0;
  for (let i = 0; i < USERS; i++) {
    const users = state.users.filter((u) => u.email === `u${i}@acme.test`);
    if (users.length !== 1 || !org[0]!.members.some((m) => m.user_id === users[0]!.user_id)) {
      bad++;
      t.fail(`u${i}@acme.test: ${users.length} Auth0 user(s), member: ${users[0] ? org[0]!.members.some((m) => m.user_id === users[0]!.user_id) : false}`);
    }
  }
  t.equal(bad, 0, 'every directory user exists exactly once and is a member');
  const { rows } = await admin.query(`select count(*) as n from ${queueSchema}.job where state = 'failed'`);
  t.equal(Number(rows[0].n), 0, 'no job ended failed');
});
