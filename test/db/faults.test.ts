/**
 * The database may be slow, gone, or dropping connections: `provisio serve` runs as a child process
 * behind a TCP proxy to PostgreSQL that refuses, blackholes and drops connections. During each fault
 * SCIM, admin and `/readyz` answer 503 in bounded time, `/healthz` stays 200, the process survives, and
 * everything (the sync worker included) recovers by itself once the fault ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startAuth0Emulator } from '../../src/auth0/emulator/server.js';
import { cliEnv, runProvisio } from '../helpers/cli.js';
import { TEST_BACKEND } from '../helpers/db.js';
import { CLI_ARGS, RUN_ROOT } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';

const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

interface Pair {
  readonly client: net.Socket;
  readonly upstream?: net.Socket;
  /** Bytes were dropped: the PostgreSQL protocol on this connection is out of step for good. */
  broken: boolean;
}

/**
 * Between Provisio and PostgreSQL: `pass` forwards; `blackhole` accepts new connections and forwards
 * nothing in either direction (a network cut the kernel does not report); `hold` keeps what the client
 * sends (requests stay in flight) until `dropAll` closes every connection; `refuse` stops listening and
 * drops every connection (the database went down).
 */
class FaultProxy {
  mode: 'pass' | 'blackhole' | 'hold' = 'pass';
  private readonly pairs = new Set<Pair>();
  private server?: net.Server;
  port = 0;

  constructor(private readonly upstreamHost: string, private readonly upstreamPort: number) {}

  async listen(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  private accept(client: net.Socket): void {
    client.on('error', () => undefined);
    if (this.mode !== 'pass') {
      const pair: Pair = { client, broken: true };
      this.pairs.add(pair);
      client.on('data', () => undefined);
      client.on('close', () => this.pairs.delete(pair));
      return;
    }
    const upstream = net.connect(this.upstreamPort, this.upstreamHost);
    upstream.on('error', () => undefined);
    const pair: Pair = { client, upstream, broken: false };
    this.pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      if (this.mode === 'pass') upstream.write(chunk);
      else pair.broken = true;
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.mode === 'pass') client.write(chunk);
      else pair.broken = true;
    });
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
  }

  /**
   * Drops every open connection with whatever was in flight (both ends see it close). A FIN rather than
   * an RST: Node 20's `socket.resetAndDestroy()` left this test process hanging at exit.
   */
  dropAll(): number {
    const n = this.pairs.size;
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    this.pairs.clear();
    return n;
  }

  /** Back to forwarding; connections whose bytes were dropped are closed, the others carry on. */
  heal(): void {
    this.mode = 'pass';
    for (const pair of this.pairs) {
      if (!pair.broken) continue;
      pair.client.destroy();
      pair.upstream?.destroy();
      this.pairs.delete(pair);
    }
  }

  async refuse(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
    this.dropAll();
    await closed;
  }

  async close(): Promise<void> {
    await this.refuse();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface Answer {
  readonly status: number;
  readonly ms: number;
  readonly retryAfter: string | null;
  readonly body: Record<string, unknown>;
}

async function timed(url: string, init: RequestInit = {}): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
    return { status: res.status, ms: Math.round(performance.now() - started), retryAfter: res.headers.get('retry-after'), body };
  } catch (err) {
    return { status: 0, ms: Math.round(performance.now() - started), retryAfter: null, body: { error: String(err) } };
  }
}

t.test('database refused, blackholed and dropping connections under load: 503 with Retry-After in bounded time, the process survives and recovers', {
  skip: TEST_BACKEND !== 'postgres' && 'needs PostgreSQL behind a TCP proxy (PGlite runs in-process)',
  timeout: 60_000,
}, async (t) => {
  const direct = await cliEnv(t);
  const upstream = new URL(direct.DATABASE_URL!);
  const proxy = new FaultProxy(upstream.hostname, Number(upstream.port || 5432));
  await proxy.listen();
  t.teardown(() => proxy.close());
  const proxied = new URL(upstream);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);

  const emu = await startAuth0Emulator({ plan: 'off' });
  t.teardown(() => emu.close());
  const auth0 = { AUTH0_BASE_URL: emu.baseUrl, AUTH0_DOMAIN: emu.domain, AUTH0_CLIENT_ID: emu.client.clientId, AUTH0_CLIENT_SECRET: emu.client.clientSecret };

  // A tenant bound to the emulator (so the sync worker has a loop to pause) and an operator token, made
  // directly on the database before the server starts.
  const created = await runProvisio({ ...direct, ...auth0 }, 'tenant', 'create', 'acme', '--json');
  t.equal(created.code, 0, created.err);
  const scimToken = JSON.parse(created.out).token as string;
  const issued = await runProvisio(direct, 'admin-token', 'issue', '--label', 'faults', '--json');
  t.equal(issued.code, 0, issued.err);
  const adminToken = JSON.parse(issued.out).token as string;
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'provisio-faults-')), 'binding.json');
  writeFileSync(file, JSON.stringify({ binding: { organization: { name: 'acme' }, connections: [{ id: emu.connections.database.id, name: emu.connections.database.name, mode: 'database' }] } }));
  const bound = await runProvisio({ ...direct, ...auth0 }, 'tenant', 'bind', 'acme', '--file', file);
  t.equal(bound.code, 0, bound.err);

  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...CLI_ARGS, 'serve'], {
    cwd: RUN_ROOT,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...direct, ...auth0,
      DATABASE_URL: proxied.toString(), PORT: String(port), LOG_LEVEL: 'info',
      DB_STATEMENT_TIMEOUT_MS: '1000', DB_SYNC_STATEMENT_TIMEOUT_MS: '2000', DB_CONNECT_TIMEOUT_MS: '1000', DB_RETRY_AFTER_SECONDS: '3',
      SCIM_TOKEN_CACHE_MS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => { output += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  const base = `http://127.0.0.1:${port}`;
  await until('the server to be ready', async () => {
    if (child.exitCode !== null) throw new Error(`serve exited: ${output}`);
    return fetch(`${base}/readyz`).then((r) => r.ok, () => false);
  }, 30_000);

  const scim = { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' };
  let n = 0;
  const newUser = () => JSON.stringify({ schemas: [SCIM_USER], userName: `u${++n}@acme.test`, emails: [{ value: `u${n}@acme.test`, primary: true }] });
  const probes = {
    'SCIM GET': () => timed(`${base}/scim/v2/acme/Users?count=5`, { headers: scim }),
    'SCIM POST': () => timed(`${base}/scim/v2/acme/Users`, { method: 'POST', headers: scim, body: newUser() }),
    'admin GET': () => timed(`${base}/v1/admin/tenants`, { headers: { authorization: `Bearer ${adminToken}` } }),
  };
  // Warm the pool: several idle connections exist when the faults start (the blackhole catches them).
  for (let i = 0; i < 3; i++) await Promise.all([probes['SCIM GET'](), probes['admin GET'](), probes['SCIM POST']()]);

  const report: string[] = [];
  /** During a fault: every probe is a 503 with the API's error body and Retry-After, within 3 s. */
  const duringOutage = async (fault: string) => {
    const [get, post, adminGet, ready, health, metrics] = await Promise.all([
      probes['SCIM GET'](), probes['SCIM POST'](), probes['admin GET'](), timed(`${base}/readyz`), timed(`${base}/healthz`), timed(`${base}/metrics`),
    ]);
    for (const [name, a] of [['SCIM GET', get], ['SCIM POST', post]] as const) {
      t.equal(a.status, 503, `${fault}: ${name} is a 503 (${JSON.stringify(a.body)})`);
      t.match(a.body, { schemas: [SCIM_ERROR], status: '503' }, `${fault}: ${name} has a SCIM error body`);
      t.equal(a.retryAfter, '3', `${fault}: ${name} says Retry-After`);
      t.ok(a.ms < 3000, `${fault}: ${name} answered in ${a.ms} ms`);
    }
    t.equal(adminGet.status, 503, `${fault}: admin GET is a 503 (${JSON.stringify(adminGet.body)})`);
    t.match(adminGet.body, { statusCode: 503, code: 'database_unavailable' }, `${fault}: admin error body`);
    t.equal(adminGet.retryAfter, '3', `${fault}: admin says Retry-After`);
    t.ok(adminGet.ms < 3000, `${fault}: admin answered in ${adminGet.ms} ms`);
    t.equal(ready.status, 503, `${fault}: /readyz is a 503`);
    t.match(ready.body, { status: 'database unreachable' });
    t.ok(ready.ms < 2000, `${fault}: /readyz answered in ${ready.ms} ms`);
    t.equal(health.status, 200, `${fault}: /healthz stays 200`);
    t.equal(metrics.status, 200, `${fault}: /metrics still answers (in ${metrics.ms} ms), without the database's gauges`);
    report.push(`${fault}: SCIM GET ${get.status} in ${get.ms} ms, SCIM POST ${post.status} in ${post.ms} ms, admin ${adminGet.status} in ${adminGet.ms} ms, /readyz ${ready.status} in ${ready.ms} ms, /healthz ${health.status}, /metrics ${metrics.status} in ${metrics.ms} ms`);
  };
  /** After the fault: time until a SCIM GET, a SCIM POST and /readyz all succeed again. */
  const recovery = async (fault: string, healed: number) => {
    await until(`${fault}: recovery`, async () => {
      const [get, post, ready] = await Promise.all([probes['SCIM GET'](), probes['SCIM POST'](), timed(`${base}/readyz`)]);
      return get.status === 200 && post.status === 201 && ready.status === 200;
    }, 10_000);
    const ms = Math.round(performance.now() - healed);
    t.ok(ms < 5000, `${fault}: recovered in ${ms} ms`);
    report.push(`${fault}: recovered (GET 200, POST 201, /readyz 200) ${ms} ms after the fault ended`);
  };

  // (a) The database refuses connections (down): existing connections dropped, new ones refused.
  await proxy.refuse();
  await duringOutage('refused');
  // The worker's next poll fails too: /readyz says it paused (it resumes by itself, checked below).
  await until('/readyz to report the sync worker paused', async () => (await timed(`${base}/readyz`)).body?.sync === 'paused', 10_000);
  await proxy.listen();
  await recovery('refused', performance.now());

  // (b) Blackhole: connections accepted (and the pooled ones kept) but nothing answers.
  proxy.mode = 'blackhole';
  await duringOutage('blackhole');
  // A second round while the first connections are still stuck: no pile-up, same bound.
  await duringOutage('blackhole, again');
  proxy.heal();
  await recovery('blackhole', performance.now());

  // (c) Connections dropped with requests in flight: their queries are held, then every connection closed.
  proxy.mode = 'hold';
  const sentAt = performance.now();
  const inFlight = Promise.all([probes['SCIM GET'](), probes['SCIM POST'](), probes['admin GET']()]);
  await new Promise((r) => setTimeout(r, 300));
  const dropped = proxy.dropAll();
  proxy.mode = 'pass';
  const resetAt = performance.now();
  const answers = await inFlight;
  for (const a of answers) {
    t.equal(a.status, 503, `dropped: in-flight request answered 503 (${JSON.stringify(a.body)})`);
    t.equal(a.retryAfter, '3');
  }
  const afterDrop = (a: Answer) => Math.round(a.ms - (resetAt - sentAt));
  report.push(`dropped (${dropped} connections, requests in flight): ${answers.map((a) => `${a.status} ${afterDrop(a)} ms after the drop`).join(', ')}`);
  await recovery('dropped', resetAt);

  t.equal(child.exitCode, null, 'the process never exited');
  t.equal(child.signalCode, null);

  // The sync worker paused and resumed (its retries back off to 5 s): /readyz says so, and a user created
  // now reaches the emulator.
  await until('/readyz to report the sync worker running again', async () => (await timed(`${base}/readyz`)).body?.sync === 'running', 15_000);
  const last = await probes['SCIM POST']();
  t.equal(last.status, 201);
  const userName = (last.body as { userName: string }).userName;
  await until('the sync worker to sync a new user', () => JSON.stringify(emu.emulator.snapshot().users).includes(userName), 20_000);
  t.match(output, /the sync worker pauses/, 'the worker said it paused');
  t.match(output, /the worker resumed/, 'and that it resumed');

  // Logged as warnings, a few lines for the whole run, never a 500 or a stack per request.
  const lines = output.split('\n').filter((l) => l.startsWith('{'));
  const warnings = lines.filter((l) => l.includes('database unavailable'));
  t.ok(warnings.length >= 1 && warnings.length <= 6, `${warnings.length} outage warnings`);
  t.notOk(lines.some((l) => /"level":50|"level":60/.test(l)), `no error-level log lines:\n${lines.filter((l) => /"level":50|"level":60/.test(l)).slice(0, 3).join('\n')}`);

  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  t.equal(code, 0, 'stops cleanly after the faults');
  t.comment(`database faults, as an IdP sees them:\n  ${report.join('\n  ')}`);
});
