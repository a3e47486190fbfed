/**
 * Latency of the decision endpoint (issue 7 "Performance"; a measurement, not a CI gate):
 *   npx tsx test/login/latency.ts            (TEST_DB=postgres by default; TEST_DB=pglite works too)
 * 1. An already-provisioned user, open loop at 200 requests/s over HTTP: server-side time (Fastify's
 *    reply.elapsedTime) and round trip, percentiles.
 * 2. Full JIT (org exists; member + roles added) with the emulator's latency set to 100 ms per call.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import tap from 'tap';
import { ACTION_TOKEN_AUDIENCE, ACTION_TOKEN_ISSUER } from '../../src/login/action-token.js';
import { createRoles, scimUser } from '../helpers/sync.js';
import { ACTION_SECRET, actionToken, loginBody, loginHarness } from './harness.js';

// test/helpers/db.ts imports tap, which would otherwise time this script out after 30 s.
tap.setTimeout(0);
const teardowns: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => teardowns.push(fn) };

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function summary(name: string, values: number[]): string {
  return `${name}: n=${values.length} p50=${pct(values, 50).toFixed(2)} ms p90=${pct(values, 90).toFixed(2)} ms p99=${pct(values, 99).toFixed(2)} ms max=${Math.max(...values).toFixed(2)} ms`;
}

/** Sends `total` requests at `rate`/s (open loop) from a worker thread; returns round-trip times. */
async function openLoop(url: string, body: string, rate: number, total: number): Promise<{ rtt: number[]; seconds: number }> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const crypto = require('node:crypto');
    const { url, body, rate, total, secret, iss, aud } = workerData;
    const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const bsh = crypto.createHash('sha256').update(body).digest('base64url');
    const token = () => {
      const now = Math.floor(Date.now() / 1000);
      const head = b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64({ iss, aud, iat: now, exp: now + 30, jti: crypto.randomUUID(), bsh });
      return head + '.' + crypto.createHmac('sha256', secret).update(head).digest('base64url');
    };
    (async () => {
      const rtt = [];
      const started = performance.now();
      const inflight = [];
      for (let i = 0; i < total; i++) {
        const wait = started + (i * 1000) / rate - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const t0 = performance.now();
        inflight.push(fetch(url + '/v1/auth0/post-login', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token() }, body })
          .then(async (res) => { const j = await res.json(); if (j.decision !== 'allow') throw new Error(JSON.stringify(j)); rtt.push(performance.now() - t0); }));
      }
      await Promise.all(inflight);
      parentPort.postMessage({ rtt, seconds: (performance.now() - started) / 1000 });
    })().catch((e) => parentPort.postMessage({ error: String(e) }));
  `;
  const worker = new Worker(code, { eval: true, workerData: { url, body, rate, total, secret: ACTION_SECRET, iss: ACTION_TOKEN_ISSUER, aud: ACTION_TOKEN_AUDIENCE } });
  const result = await new Promise<{ rtt?: number[]; seconds?: number; error?: string }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  if (result.error || !result.rtt || result.seconds === undefined) throw new Error(result.error ?? 'load generator failed');
  return { rtt: result.rtt, seconds: result.seconds };
}

async function main(): Promise<void> {
  const h = await loginHarness(t, { listen: false });
  const server: number[] = [];
  h.app.addHook('onResponse', async (request, reply) => {
    if (request.url === '/v1/auth0/post-login') server.push(reply.elapsedTime);
  });
  const url = await h.app.listen({ port: 0, host: '127.0.0.1' });
  await createRoles(h.emulator, 'member');
  const acme = await h.tenant('acme');
  const c = h.emulator.connections.enterprise;
  await scimUser(acme, 'pat@acme.test');
  await acme.bind({ organization: { name: 'acme' }, connections: [{ id: c.id, name: c.name, mode: 'enterprise', assignMembershipOnLogin: true }], login: { jit: 'jit' } },
    { defaultGrant: { orgRoles: ['member'] } });
  await h.settle();
  const org = h.org('acme');
  if (!org) throw new Error('org missing');
  const post = async (body: string) => {
    const res = await fetch(`${url}/v1/auth0/post-login`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${actionToken(body)}` }, body });
    const json = (await res.json()) as { decision?: string };
    if (res.status !== 200 || json.decision !== 'allow') throw new Error(`unexpected ${res.status} ${JSON.stringify(json)}`);
  };

  // 1. Provisioned user.
  const pat = h.ssoUser('pat@acme.test');
  const patBody = JSON.stringify(loginBody({ ...pat, email: 'pat@acme.test', email_verified: true }, h.connection('enterprise'), { id: org.id, name: 'acme' }));
  await post(patBody);
  await h.settle();
  for (let i = 0; i < 50; i++) await post(patBody); // warm-up
  server.length = 0;
  const callsBefore = h.emulator.emulator.callLog().length;
  const sequential: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t0 = performance.now();
    await post(patBody);
    sequential.push(performance.now() - t0);
  }
  console.log(`provisioned user, 300 sequential requests: ${summary('round trip', sequential)}; server-side ${summary('', server)}`);
  server.length = 0;
  // The load generator runs in a worker thread, so its own fetch/JSON work does not queue behind the server's.
  const { rtt, seconds } = await openLoop(url, patBody, 200, 2000);
  console.log(`provisioned user, 2000 requests at 200/s target (${(2000 / seconds).toFixed(0)}/s achieved), backend ${process.env.TEST_DB ?? 'postgres'}`);
  console.log('  ' + summary('server-side', server));
  console.log('  ' + summary('round trip ', rtt));
  console.log(`  Auth0 calls made by these decisions: ${h.emulator.emulator.callLog().length - callsBefore}`);

  // 2. Full JIT with Auth0-like latency.
  h.emulator.emulator.injectFault('*', { latencyMs: 100 });
  server.length = 0;
  const jit: number[] = [];
  for (let i = 0; i < 30; i++) {
    const email = `jit${i}@acme.test`;
    const u = h.ssoUser(email);
    h.autoMember('acme', u.user_id);
    const body = JSON.stringify(loginBody({ ...u, email, email_verified: true }, h.connection('enterprise'), { id: org.id, name: 'acme' }));
    const t0 = performance.now();
    await post(body);
    jit.push(performance.now() - t0);
    if (!h.org('acme')?.members.get(u.user_id)?.includes('member')) throw new Error('JIT did not assign the role');
  }
  console.log('full JIT (org exists; member + role; emulator latency 100 ms per call), sequential');
  console.log('  ' + summary('server-side', server));
  console.log('  ' + summary('round trip ', jit));

  // The same, five logins at a time: Auth0's rate limits (the gateway's enterprise budget) now shape the tail.
  server.length = 0;
  const concurrent: number[] = [];
  for (let batch = 0; batch < 6; batch++) {
    await Promise.all(Array.from({ length: 5 }, async (_, k) => {
      const email = `burst${batch}-${k}@acme.test`;
      const u = h.ssoUser(email);
      h.autoMember('acme', u.user_id);
      const body = JSON.stringify(loginBody({ ...u, email, email_verified: true }, h.connection('enterprise'), { id: org.id, name: 'acme' }));
      const t0 = performance.now();
      await post(body);
      concurrent.push(performance.now() - t0);
    }));
  }
  console.log('full JIT, 5 concurrent');
  console.log('  ' + summary('round trip ', concurrent));
  h.emulator.emulator.clearFaults();
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const fn of teardowns.reverse()) await fn();
  });
