import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createServer } from 'node:net';
import { cliEnv, freePort } from '../helpers/cli.js';
import { TEST_BACKEND } from '../helpers/db.js';
import { CLI_ARGS, RUN_ROOT } from '../helpers/paths.js';

/** Starts `provisio serve` as a new user would (no configuration but a data dir and a port) and waits for the banner. */
async function serve(env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string; ready: Promise<void> }> {
  const child = spawn(process.execPath, [...CLI_ARGS, 'serve'], {
    cwd: RUN_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (/Demo tenant/.test(text)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${text}`)));
  });
  return { child, output: () => text, ready };
}

async function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

/** Polls the admin API until the user is synced (the README's step 2) and returns its Auth0 user id. */
async function syncedAuth0Id(base: string, admin: string, userName: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${base}/v1/admin/tenants/demo/users?search=${encodeURIComponent(userName)}`, { headers: { authorization: `Bearer ${admin}` } });
    const body = (await res.json()) as { users: { sync: { status: string; auth0UserId: string | null } | null }[] };
    const sync = body.users[0]?.sync;
    if (sync?.status === 'synced' && sync.auth0UserId) return sync.auth0UserId;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${userName} was not synced`);
}

t.test('zero-config start: demo tenant printed once, its token works, users land in the emulator, survives a restart', { skip: TEST_BACKEND !== 'pglite' && 'runs in the PGlite pass (zero-config is PGlite)', timeout: 90_000 }, async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'provisio-serve-'));
  const port = await freePort();
  const first = await serve({ DATA_DIR: dataDir, PORT: String(port) });
  t.teardown(() => { first.child.kill('SIGKILL'); });
  await first.ready;
  await new Promise((r) => setTimeout(r, 200));
  const url = /SCIM base URL: (\S+)/.exec(first.output())?.[1];
  const token = /bearer token:\s+(prv_\S+)/.exec(first.output())?.[1];
  t.equal(url, `http://localhost:${port}/scim/v2/demo`);
  t.ok(token, 'token printed');
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
  const created = await fetch(`${url}/Users`, { method: 'POST', headers, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'alice@example.com', emails: [{ value: 'alice@example.com', type: 'work', primary: true }] }) });
  t.equal(created.status, 201);
  const health = await fetch(`http://127.0.0.1:${port}/readyz`);
  t.same(await health.json(), { status: 'ready', database: 'pglite', sync: 'running' });

  // The README's walkthrough: the admin token shows the user synced, and the emulator holds it as a member.
  const admin = /Admin API token:\s+(pva_\S+)/.exec(first.output())?.[1];
  const emulator = /built-in emulator at (http:\S+)/.exec(first.output())?.[1];
  t.ok(admin && emulator, 'admin token and emulator URL printed');
  const auth0Id = await syncedAuth0Id(`http://127.0.0.1:${port}`, admin!, 'alice@example.com');
  const state = (await (await fetch(`${emulator}/__emulator/state`)).json()) as { users: { user_id: string }[]; organizations: { name: string; members: { user_id: string }[] }[] };
  t.ok(state.users.some((u) => u.user_id === auth0Id), 'the Auth0 user exists in the emulator');
  t.ok(state.organizations.find((o) => o.name === 'demo')?.members.some((m) => m.user_id === auth0Id), 'and is a member of the demo organization');
  t.equal(await stop(first.child), 0, 'SIGTERM shuts down cleanly');

  const second = await serve({ DATA_DIR: dataDir, PORT: String(port) });
  t.teardown(() => { second.child.kill('SIGKILL'); });
  await second.ready;
  t.notMatch(second.output(), /bearer token:/, 'the token is not printed again (only its hash is stored)');
  const list = await fetch(`${url}/Users?filter=${encodeURIComponent('userName eq "alice@example.com"')}`, { headers });
  t.equal(list.status, 200);
  t.equal(((await list.json()) as { totalResults: number }).totalResults, 1, 'data survived the restart');
  t.notMatch(second.output(), /Admin API token:/, 'nor is the admin token');
  t.ok(await syncedAuth0Id(`http://127.0.0.1:${port}`, admin!, 'alice@example.com'), 'the fresh in-memory emulator got the demo users again');
  await stop(second.child);
});

t.test('a port already in use: serve says so and exits 1 instead of running on without a listener', { timeout: 60_000 }, async (t) => {
  const env = await cliEnv(t);
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => taken.close());
  const port = String((taken.address() as { port: number }).port);
  const child = spawn(process.execPath, [...CLI_ARGS, 'serve'], {
    cwd: RUN_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, LOG_LEVEL: 'warn', PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => { child.kill('SIGKILL'); });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.equal(code, 1, 'exit code 1');
  t.match(stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
});
