/**
 * Idle cost in tenants (issue 15): N tenants bound to Auth0 and nothing to do. Starts a real
 * `provisio serve` on its own PostgreSQL database and counts the transactions PostgreSQL commits for that
 * database per second (`pg_stat_database.xact_commit`: every autocommit statement is one), and the
 * server's RSS. Not a test; run by hand (it creates and drops a database `provisio_idle_<random>`):
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/idle-tenants.ts --tenants 1000 --seconds 20
 * With `--traffic`, every tenant then makes one SCIM POST and one GET, and the size of `/metrics` and the RSS
 * are measured again: the per-tenant series an operator scrapes once every tenant has been active. The server
 * runs from source under tsx, whose loader adds to its RSS: the compiled server's is lower.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bindIdleTenants, scratchDatabase } from './fixtures.js';

const { values: a } = parseArgs({ options: { tenants: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '20' }, warmup: { type: 'string', default: '10' }, port: { type: 'string', default: '3377' }, traffic: { type: 'boolean', default: false } } });
const tenants = Number(a.tenants);
const scratch = await scratchDatabase('provisio_idle');
const { admin, name } = scratch;

try {
  const t0 = Date.now();
  const tokens = await bindIdleTenants(scratch.url, tenants);
  console.log(`${tenants} tenants bound in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const root = path.resolve(import.meta.dirname, '..');
  const server = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'serve'], {
    cwd: root, stdio: ['ignore', 'ignore', 'inherit'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: scratch.url, PORT: a.port, HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
  });
  try {
    for (let i = 0; ; i++) {
      if (await fetch(`http://127.0.0.1:${a.port}/readyz`).then((r) => r.ok, () => false)) break;
      if (i > 600) throw new Error('server not ready after 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, Number(a.warmup) * 1000));
    const commits = async () => Number((await admin.query('select xact_commit + xact_rollback as n from pg_stat_database where datname = $1', [name])).rows[0].n);
    // pg_stat_database is refreshed when a backend reports (at most every second): read it after the stats settle.
    await admin.query('select pg_stat_clear_snapshot()');
    const before = await commits();
    await new Promise((r) => setTimeout(r, Number(a.seconds) * 1000));
    await admin.query('select pg_stat_clear_snapshot()');
    const after = await commits();
    const rssMB = () => Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1]) / 1024);
    const scrape = async () => {
      const text = await (await fetch(`http://127.0.0.1:${a.port}/metrics`)).text();
      return { metricsBytes: text.length, metricsSeries: text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length };
    };
    console.log(JSON.stringify({
      tenants, seconds: Number(a.seconds), transactionsPerSecond: Number(((after - before) / Number(a.seconds)).toFixed(1)),
      rssMB: rssMB(), ...(await scrape()),
    }));
    if (a.traffic) {
      // Eight tenants at a time, each one POST and one GET of its own user.
      const failures: string[] = [];
      let next = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (let i = next++; i < tenants; i = next++) {
          const base = `http://127.0.0.1:${a.port}/scim/v2/idle-${i}/Users`;
          const headers = { authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/scim+json' };
          const created = await fetch(base, { method: 'POST', headers, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `user-${i}@idle.example.com` }) });
          const { id } = (await created.json()) as { id?: string };
          const read = await fetch(`${base}/${id}`, { headers });
          if (created.status !== 201 || read.status !== 200) failures.push(`idle-${i}: POST ${created.status}, GET ${read.status}`);
        }
      }));
      if (failures.length > 0) throw new Error(`SCIM traffic failed for ${failures.length} tenants, first: ${failures[0]}`);
      console.log(JSON.stringify({ afterTraffic: { requests: 2 * tenants, rssMB: rssMB(), ...(await scrape()) } }));
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
} finally {
  await scratch.drop();
}
