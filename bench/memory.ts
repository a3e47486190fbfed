/**
 * Memory under load (issue 15, docs/operations.md#memory): a compiled `provisio serve` on its own PostgreSQL
 * database holding `--tenants` bound tenants plus the benchmark's own, under the whole shared harness
 * (`../shared/bench/run.mjs`, `--users` users). Samples the server's RSS every 250 ms and V8's heap in use
 * every 2 s (from `/metrics`), and prints the timeline and the figures. Not a test; run by hand after
 * `npm run build` (it creates and drops a database `provisio_memory_<random>`):
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/memory.ts --users 100000
 * `--cgroup DIR` starts the server inside a cgroup v1 memory directory made beforehand (as root:
 * `mkdir /sys/fs/cgroup/memory/provisio && echo 512M > /sys/fs/cgroup/memory/provisio/memory.limit_in_bytes`),
 * as a container's memory limit would; Node sizes V8's heap from it. `--node-args` passes flags to the
 * server's node (`--node-args=--max-old-space-size=128`).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bindIdleTenants, createUnboundTenant, scratchDatabase } from './fixtures.js';

const { values: a } = parseArgs({
  options: {
    tenants: { type: 'string', default: '1000' },
    users: { type: 'string', default: '100000' },
    port: { type: 'string', default: '3388' },
    harness: { type: 'string', default: '../shared/bench/run.mjs' },
    cgroup: { type: 'string' },
    'node-args': { type: 'string', default: '' },
  },
});
const root = path.resolve(import.meta.dirname, '..');
const mb = (bytes: number) => Math.round(bytes / 1_048_576);
const scratch = await scratchDatabase('provisio_memory');
const { name } = scratch;

try {
  await bindIdleTenants(scratch.url, Number(a.tenants));
  // The benchmark's tenant does not sync, as in ../shared/bench/run-provisio-ab.sh.
  const token = await createUnboundTenant(scratch.url, 'bench');

  const serve = [...a['node-args'].split(' ').filter(Boolean), 'dist/cli/index.js', 'serve'];
  // The shell joins the cgroup, then becomes node: the process is in it from its first instruction, when V8 sizes its heap.
  const [command, args] = a.cgroup
    ? ['sh', ['-c', `echo $$ > ${a.cgroup}/cgroup.procs && exec "$0" "$@"`, process.execPath, ...serve]]
    : [process.execPath, serve];
  const server = spawn(command, args, {
    cwd: root, stdio: ['ignore', 'ignore', 'inherit'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: scratch.url, PORT: a.port, HOST: '127.0.0.1', LOG_LEVEL: 'warn', SCIM_RATE_LIMIT: 'off' },
  });
  try {
    const base = `http://127.0.0.1:${a.port}`;
    for (let i = 0; ; i++) {
      if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break;
      if (i > 600) throw new Error('server not ready after 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 10_000));
    const rss = () => mb(1024 * Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1]));
    const heapUsed = async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return mb(Number(/nodejs_heap_size_used_bytes (\d+)/.exec(text)?.[1]));
    };
    const idle = { rssMB: rss(), heapUsedMB: await heapUsed() };
    let maxRss = idle.rssMB;
    const heap: number[] = [];
    let samples = 0;
    const sampler = setInterval(() => {
      maxRss = Math.max(maxRss, rss());
      if (samples++ % 8 === 0) {
        heapUsed().then((used) => {
          heap.push(used);
          console.log(`${new Date().toISOString().slice(11, 19)} rss=${rss()} MB heapUsed=${used} MB`);
        }, () => undefined);
      }
    }, 250);
    const harness = spawn(process.execPath, [path.resolve(root, a.harness), '--base', `${base}/scim/v2/bench`, '--token', token, '--label', 'provisio', '--users', a.users, '--out', `/tmp/${name}.jsonl`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exitCode = await new Promise<number | null>((resolve) => harness.once('exit', resolve));
    clearInterval(sampler);
    const throughput = Object.fromEntries(readFileSync(`/tmp/${name}.jsonl`, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { scenario?: string; rps?: number })
      .filter((row) => row.scenario && row.rps !== undefined).map((row) => [row.scenario, Math.round(row.rps!)]));
    console.log(JSON.stringify({
      node: process.version, cgroup: a.cgroup ?? null, nodeArgs: a['node-args'] || null, tenants: Number(a.tenants) + 1, users: Number(a.users), harnessExit: exitCode,
      idle, maxRssMB: maxRss, endRssMB: rss(), heapUsedMB: { min: Math.min(...heap), max: Math.max(...heap) }, rps: throughput,
    }));
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
} finally {
  await scratch.drop();
}
