/**
 * Replicas share one Auth0 budget (issue 15): R `provisio serve` processes on one PostgreSQL database sync one
 * tenant into one standalone Auth0 emulator (`provisio auth0-emulator`, Essentials plan by default). U users
 * are POSTed over SCIM, alternating between the replicas. Reports the 429s the emulator answered (from its
 * call log, `GET /__emulator/calls`), the time from the first SCIM write until every user is `synced` in
 * `user_sync`, the Auth0 users and organization members the emulator holds (and duplicates), and what each
 * replica's `/readyz` says about the sync (`running` / `standby`). Every process (emulator, CLI, servers) runs
 * from `--checkout`, so the same script measures an older commit in a worktree:
 *   git -C /work/main worktree add /work/wt-old f97b6d0 && ln -s /work/main/node_modules /work/wt-old/node_modules
 *   npx tsx bench/replicas.ts --replicas 2 --users 300 [--checkout /work/wt-old] [--plan essentials]
 * Not a test; run by hand (it creates and drops a database `provisio_replicas_<random>`; DATABASE_URL names
 * the server to create it on, default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values: a } = parseArgs({
  options: {
    replicas: { type: 'string', default: '2' },
    users: { type: 'string', default: '300' },
    plan: { type: 'string', default: 'essentials' },
    checkout: { type: 'string', default: path.resolve(import.meta.dirname, '..') },
    port: { type: 'string', default: '3390' },
    concurrency: { type: 'string', default: '4' },
    timeout: { type: 'string', default: '600' },
  },
});
const replicas = Number(a.replicas);
const users = Number(a.users);
const checkout = path.resolve(a.checkout);
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `provisio_replicas_${randomBytes(3).toString('hex')}`;
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: url.toString(), LOG_LEVEL: 'warn' };
const cli = (args: string[], env: Record<string, string> = {}): string => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], { cwd: checkout, env: { ...baseEnv, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`provisio ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];
const stop = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
};

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${name}`);
try {
  // The emulator prints one JSON line: base URL, domain, client credentials, seeded connections.
  const emulatorProcess = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'auth0-emulator', '--plan', a.plan], { cwd: checkout, env: baseEnv, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(emulatorProcess);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: emulatorProcess.stdout! }).once('line', resolve);
    emulatorProcess.once('exit', () => reject(new Error('emulator exited')));
  });
  const emu = JSON.parse(line) as { baseUrl: string; domain: string; client: { clientId: string; clientSecret: string }; connections: { database: { id: string; name: string } } };
  const auth0Env = { AUTH0_BASE_URL: emu.baseUrl, AUTH0_DOMAIN: emu.domain, AUTH0_CLIENT_ID: emu.client.clientId, AUTH0_CLIENT_SECRET: emu.client.clientSecret, AUTH0_PLAN: a.plan };

  const { tenant, token } = JSON.parse(cli(['tenant', 'create', 'acme', '--json'])) as { tenant: { id: string }; token: string };
  const dir = mkdtempSync(path.join(tmpdir(), 'provisio-replicas-'));
  writeFileSync(path.join(dir, 'binding.json'), JSON.stringify({ binding: { organization: { name: 'acme' }, connections: [{ id: emu.connections.database.id, name: emu.connections.database.name, mode: 'database' }] } }));
  cli(['tenant', 'bind', 'acme', '--file', path.join(dir, 'binding.json')], auth0Env);

  const ports = Array.from({ length: replicas }, (_, i) => Number(a.port) + i);
  for (const port of ports) {
    children.push(spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'serve'], {
      cwd: checkout, stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...baseEnv, ...auth0Env, PORT: String(port), HOST: '127.0.0.1', SCIM_RATE_LIMIT: 'off', DATA_DIR: dir },
    }));
  }
  const readyz = async (port: number) => fetch(`http://127.0.0.1:${port}/readyz`).then(async (r) => ({ ok: r.ok, body: await r.json() as { sync?: string } }), () => ({ ok: false, body: {} as { sync?: string } }));
  for (const port of ports) {
    for (let i = 0; !(await readyz(port)).ok; i++) {
      if (i > 600) throw new Error(`server on ${port} not ready after 60 s`);
      await sleep(100);
    }
  }
  await sleep(1000);
  await fetch(`${emu.baseUrl}/__emulator/calls`, { method: 'DELETE' });

  // SCIM writes, alternating between the replicas, `concurrency` at a time.
  const started = Date.now();
  let next = 0;
  const post = async () => {
    for (let i = next++; i < users; i = next++) {
      const userName = `user${i}@acme.test`;
      const res = await fetch(`http://127.0.0.1:${ports[i % replicas]}/scim/v2/acme/Users`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, name: { givenName: 'User', familyName: String(i) }, emails: [{ value: userName, primary: true }], active: true }),
      });
      if (res.status !== 201) throw new Error(`POST /Users: ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: Number(a.concurrency) }, post));
  const writesSeconds = (Date.now() - started) / 1000;
  const syncState = await Promise.all(ports.map(async (p) => (await readyz(p)).body.sync));

  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();
  let statuses: Record<string, number> = {};
  for (;;) {
    const { rows } = await db.query<{ status: string; n: string }>('select status, count(*) as n from user_sync where tenant_id = $1 group by 1', [tenant.id]);
    statuses = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    if ((statuses['synced'] ?? 0) + (statuses['failed'] ?? 0) >= users) break;
    if (Date.now() - started > Number(a.timeout) * 1000) break;
    await sleep(200);
  }
  const syncedSeconds = (Date.now() - started) / 1000;
  const lastSync = (await db.query<{ s: number }>('select extract(epoch from max(synced_at)) * 1000 as s from user_sync where tenant_id = $1', [tenant.id])).rows[0]?.s;
  await db.end();

  const calls = await (await fetch(`${emu.baseUrl}/__emulator/calls`)).json() as { seq: number; status: number; operation?: string }[];
  const byStatus: Record<string, number> = {};
  for (const c of calls) byStatus[c.status] = (byStatus[c.status] ?? 0) + 1;
  const tooMany: Record<string, number> = {};
  const otherErrors: Record<string, number> = {};
  for (const c of calls) {
    if (c.status === 429) tooMany[c.operation ?? '?'] = (tooMany[c.operation ?? '?'] ?? 0) + 1;
    else if (c.status >= 400) otherErrors[`${c.status} ${c.operation ?? '?'}`] = (otherErrors[`${c.status} ${c.operation ?? '?'}`] ?? 0) + 1;
  }
  const state = await (await fetch(`${emu.baseUrl}/__emulator/state`)).json() as { users: { user_id: string; email?: string }[]; organizations: { name: string; members: { user_id: string }[] }[] };
  const benchUsers = state.users.filter((u) => u.email?.endsWith('@acme.test'));
  const org = state.organizations.find((o) => o.name === 'acme');
  const memberIds = org?.members.map((m) => m.user_id) ?? [];
  console.log(JSON.stringify({
    checkout, commit: spawnSync('git', ['-C', checkout, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim(),
    replicas, users, plan: a.plan, syncState,
    writesSeconds, syncedSeconds: lastSync ? Number(((lastSync - started) / 1000).toFixed(1)) : syncedSeconds, statuses,
    auth0Calls: calls.length, callLogTruncated: calls.length > 0 && calls[0]!.seq > 1, callsByStatus: byStatus, tooManyRequests: byStatus['429'] ?? 0, tooManyByOperation: tooMany, otherErrors,
    auth0Users: benchUsers.length, auth0DistinctEmails: new Set(benchUsers.map((u) => u.email)).size,
    orgMembers: memberIds.length, orgDistinctMembers: new Set(memberIds).size,
  }));
} finally {
  for (const child of children.reverse()) await stop(child);
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}
