import t from 'tap';
import { startAuth0Emulator } from '../../src/auth0/emulator/server.js';
import { createManagementClient } from '../../src/auth0/client.js';
import { Auth0Gateway } from '../../src/auth0/gateway.js';
import {
  Auth0ConflictError, Auth0NotFoundError, Auth0PermanentError, Auth0RetryableError,
  classifyAuth0Error, errorFromStatus, redact, retryAtFrom,
} from '../../src/auth0/errors.js';
import { RateBudget } from '../../src/auth0/rate-budget.js';
import { retryAuth0 } from '../../src/auth0/retry.js';

const now = 1_700_000_000_000;
const ctx = { operation: 'GET /users/{id}', now };
const h = (o: Record<string, string>) => new Headers(o);

t.test('status classification', async (t) => {
  const e429 = errorFromStatus(429, { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached', errorCode: 'too_many_requests' }, h({ 'x-ratelimit-reset': String(now / 1000 + 7) }), ctx);
  t.type(e429, Auth0RetryableError);
  t.match(e429, { reason: 'rate_limited', status: 429, retryAt: now + 7000, errorCode: undefined });
  t.match(e429.message, 'Global limit has been reached');
  for (const status of [500, 502, 503, 504]) t.match(errorFromStatus(status, {}, undefined, ctx), { reason: 'server_error', status, retryAt: now + 1000 });
  t.match(errorFromStatus(408, {}, undefined, ctx), { reason: 'timeout' });
  const e400 = errorFromStatus(400, { statusCode: 400, message: "Payload validation error: 'x'", errorCode: 'invalid_body' }, undefined, ctx);
  t.type(e400, Auth0PermanentError);
  t.notOk(e400 instanceof Auth0RetryableError);
  t.match(e400, { status: 400, errorCode: 'invalid_body' });
  t.match(errorFromStatus(403, { errorCode: 'insufficient_scope', message: 'Insufficient scope' }, undefined, ctx), { status: 403, errorCode: 'insufficient_scope' });
  t.type(errorFromStatus(404, {}, undefined, ctx), Auth0NotFoundError);
  t.type(errorFromStatus(409, {}, undefined, ctx), Auth0ConflictError);
  t.type(errorFromStatus(401, 'plain text', undefined, ctx), Auth0PermanentError);
});

t.test('retryAt: Retry-After seconds or date, else x-ratelimit-reset, else 1 s; capped at 60 s', async (t) => {
  t.equal(retryAtFrom(h({ 'retry-after': '3' }), now), now + 3000);
  t.equal(retryAtFrom(h({ 'retry-after': new Date(now + 5000).toUTCString() }), now), now + 5000);
  t.equal(retryAtFrom(h({ 'x-ratelimit-reset': String(now / 1000 + 2) }), now), now + 2000);
  t.equal(retryAtFrom(h({ 'x-ratelimit-reset': String(now / 1000 - 10) }), now), now, 'a reset in the past means now');
  t.equal(retryAtFrom(h({ 'x-ratelimit-reset': String(now / 1000 + 3600) }), now), now + 60_000);
  t.equal(retryAtFrom(undefined, now), now + 1000);
});

t.test('network failures and timeouts are retryable; unknown errors are not', async (t) => {
  const reset = new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
  t.match(classifyAuth0Error(reset, ctx), { reason: 'network' });
  t.match(classifyAuth0Error(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), ctx), { reason: 'network' });
  t.match(classifyAuth0Error(new DOMException('The operation was aborted due to timeout', 'TimeoutError'), ctx), { reason: 'timeout' });
  t.type(classifyAuth0Error(new Error('boom'), ctx), Auth0PermanentError);
  const already = new Auth0NotFoundError('x', 404, undefined, 'm');
  t.equal(classifyAuth0Error(already, ctx), already, 'classified errors pass through');
});

t.test('redact removes credentials', async (t) => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
  const text = `Bearer abc.def-123 client_secret=s3cr3tvalue {"access_token":"${jwt}","password":"hunter22"} literal-SECRET-xyz`;
  const out = redact(text, ['literal-SECRET-xyz']);
  for (const leaked of ['abc.def-123', 's3cr3tvalue', jwt, 'hunter22', 'literal-SECRET-xyz']) t.notMatch(out, leaked);
  t.match(out, 'Bearer [redacted]');
});

t.test('retryAuth0: waits until retryAt on 429, backs off on 5xx, never retries permanent errors', async (t) => {
  const slept: number[] = [];
  const opts = { now: () => now, sleep: async (ms: number) => { slept.push(ms); } };
  let calls = 0;
  const value = await retryAuth0(async () => {
    calls++;
    if (calls === 1) throw new Auth0RetryableError('op', 'rate_limited', 429, now + 2500, 'm');
    if (calls === 2) throw new Auth0RetryableError('op', 'server_error', 503, now + 1000, 'm');
    return 'ok';
  }, opts);
  t.equal(value, 'ok');
  t.same(slept, [2500, 1000]);
  calls = 0;
  await t.rejects(retryAuth0(async () => { calls++; throw new Auth0PermanentError('op', 400, 'invalid_body', 'bad'); }, opts), Auth0PermanentError);
  t.equal(calls, 1);
  await t.rejects(retryAuth0(async () => { throw new Auth0RetryableError('op', 'network', undefined, now, 'm'); }, { ...opts, attempts: 3 }), Auth0RetryableError);
});

t.test('against the emulator: 5xx, timeout and reset are retryable; 400/401/403 permanent; no secret leaks', async (t) => {
  const emu = await startAuth0Emulator({ plan: 'off', faultSeed: 1 });
  t.teardown(() => emu.close());
  const seen: string[] = [];
  const spy: typeof fetch = (input, init) => {
    const auth = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).get('authorization');
    if (auth) seen.push(auth.replace(/^Bearer\s+/i, ''));
    return emu.fetch(input, init);
  };
  const { ManagementClient } = await import('auth0');
  const mk = (clientId: string, clientSecret: string) => new Auth0Gateway({
    client: new ManagementClient({ domain: emu.domain, clientId, clientSecret, fetch: spy, maxRetries: 0, timeoutInSeconds: 1 }),
    budget: new RateBudget({ plan: 'off' }), secrets: [clientSecret],
  });
  const gw = mk(emu.client.clientId, emu.client.clientSecret);
  const T = 'tenant';
  const messages: string[] = [];
  const failure = async (p: Promise<unknown>): Promise<Error> => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    if (!(err instanceof Error)) throw new Error('expected a failure');
    messages.push(err.message);
    return err;
  };

  emu.emulator.injectFault('GET /users/{id}', { errorRate: 1, errorStatus: 503, times: 1 });
  t.match(await failure(gw.getUser('auth0|1', T)), { name: 'Auth0RetryableError', reason: 'server_error', status: 503 });
  emu.emulator.injectFault('GET /users/{id}', { timeoutRate: 1, times: 1 });
  t.match(await failure(gw.getUser('auth0|1', T)), { name: 'Auth0RetryableError', reason: 'timeout' });
  emu.emulator.injectFault('GET /users/{id}', { resetRate: 1, times: 1 });
  t.match(await failure(gw.getUser('auth0|1', T)), { name: 'Auth0RetryableError', reason: 'network' });
  t.equal(gw.stats.get('GET /users/{id}', 'timeout'), 1);
  t.equal(gw.stats.get('GET /users/{id}', 'network'), 1);
  t.equal(gw.stats.get('GET /users/{id}', 503), 1);

  const bad = await failure(gw.createDatabaseUser({ connection: emu.connections.database.name, email: 'not-an-email', password: 'x' }, T));
  t.match(bad, { name: 'Auth0PermanentError', status: 400 });

  const narrow = emu.emulator.createClient({ scopes: ['read:users'] });
  const forbidden = await failure(mk(narrow.clientId, narrow.clientSecret).createOrganization({ name: 'nope' }, T));
  t.match(forbidden, { name: 'Auth0PermanentError', status: 403, errorCode: 'insufficient_scope' });

  const wrongSecret = 'wrong-secret-0123456789abcdef';
  const unauthorized = await failure(mk(emu.client.clientId, wrongSecret).getUser('auth0|1', T));
  t.type(unauthorized, Auth0PermanentError);
  t.equal((unauthorized as Auth0PermanentError).status, 401);

  const scimLeak = await failure(gw.createInboundScimUser(emu.connections.enterprise.scim.url, 'scim-token-that-is-wrong', { userName: 'u@x.example' }, T));
  t.type(scimLeak, Auth0PermanentError);

  t.ok(seen.length > 0, 'bearer tokens were sent');
  for (const message of messages) {
    for (const secret of [emu.client.clientSecret, narrow.clientSecret, wrongSecret, 'scim-token-that-is-wrong', emu.connections.enterprise.scim.token, ...seen]) {
      t.notOk(message.includes(secret), `no secret in: ${message.slice(0, 80)}`);
    }
  }
});
