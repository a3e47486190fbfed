import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import t from 'tap';
import { issueToken } from '../../src/admin/tokens.js';
import { createTenant } from '../../src/admin/tenants.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createMetrics } from '../../src/metrics.js';
import { TokenVerifier } from '../../src/scim/auth.js';
import { addressKey, AuthFailureThrottle, RequestThrottle } from '../../src/scim/throttle.js';
import { testApp, type ScimClient } from '../helpers/app.js';
import { testDatabase } from '../helpers/db.js';

const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

interface Answer {
  readonly statusCode: number;
  readonly headers: Record<string, unknown>;
  readonly body: string;
}

/** Asserts a 429 SCIM error (RFC 7644 §3.12: status "429", no scimType) with a whole-second Retry-After. */
function assert429(t: Tap, res: Answer, what: string): void {
  t.equal(res.statusCode, 429, `${what}: 429`);
  t.match(res.headers['content-type'], /^application\/scim\+json/, `${what}: content type`);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  t.match(body, { schemas: [ERROR_URN], status: '429', detail: /retry after \d+ s/ }, `${what}: SCIM error body`);
  t.notOk('scimType' in body, `${what}: no scimType`);
  t.match(res.headers['retry-after'], /^[1-9]\d*$/, `${what}: Retry-After in whole seconds, at least 1`);
}
type Tap = Pick<typeof t, 'equal' | 'match' | 'notOk'>;

/** `count` requests at once, so the bucket cannot refill between them. */
async function burst(scim: ScimClient, count: number): Promise<Answer[]> {
  return Promise.all(Array.from({ length: count }, () => scim.request('GET', '/Users')));
}

t.test('a tenant over its burst gets 429 with Retry-After; other tenants do not notice', async (t) => {
  // 1/min: no token comes back while the test runs, however slow the machine.
  const test = await testApp(t, { SCIM_RATE_LIMIT: '1/m,burst=5' });
  const other = await test.tenant('beta');
  const answers = await burst(test.scim, 6);
  t.equal(answers.filter((a) => a.statusCode === 200).length, 5, 'the burst passes');
  const refused = answers.filter((a) => a.statusCode !== 200);
  t.equal(refused.length, 1, 'the sixth is refused');
  assert429(t, refused[0]!, 'over the burst');
  t.ok(Number(refused[0]!.headers['retry-after']) <= 60, 'Retry-After: when the next token is back');
  assert429(t, await test.scim.request('GET', '/Users'), 'still empty');
  t.equal((await other.request('GET', '/Users')).statusCode, 200, 'another tenant is not affected');
});

t.test('after Retry-After a refused client passes again', async (t) => {
  // A cached token and a route without SQL keep the two requests far closer than the 1 s refill.
  const test = await testApp(t, { SCIM_RATE_LIMIT: '1/s,burst=1', SCIM_TOKEN_CACHE_MS: '60000' });
  t.equal((await test.scim.request('GET', '/ServiceProviderConfig')).statusCode, 200);
  const refused = await test.scim.request('GET', '/ServiceProviderConfig');
  assert429(t, refused, 'the second request at once');
  t.equal(refused.headers['retry-after'], '1', 'a token is back within a second at 1/s');
  await sleep(1100);
  t.equal((await test.scim.request('GET', '/Users')).statusCode, 200, 'after Retry-After it passes');
});

t.test('the tenant bucket bounds the tenant whatever the number of its tokens', async (t) => {
  const test = await testApp(t, { SCIM_RATE_LIMIT: '1/m,burst=3' });
  const row = await test.database.db.selectFrom('tenants').select('id').where('name', '=', 'acme').executeTakeFirstOrThrow();
  const second = test.client('acme', (await issueToken(test.database.db, row.id, { label: 'second' })).token);
  for (let i = 0; i < 3; i++) t.equal((await test.scim.request('GET', '/Users')).statusCode, 200);
  const res = await second.request('GET', '/Users');
  assert429(t, res, 'a fresh token of an exhausted tenant');
  t.match(JSON.parse(res.body).detail, /for this tenant: the limit is 1\/min with bursts of 3 \(SCIM_RATE_LIMIT\)/);
  t.ok(Number(res.headers['retry-after']) >= 19, 'at 1/min the next token is tens of seconds away');
});

t.test('RequestThrottle: a token with a smaller bucket than its tenant is refused as "token"', async (t) => {
  const throttle = new RequestThrottle({ perSecond: 1 / 60, burst: 3 }, { perSecond: 1 / 60, burst: 2 });
  const a = { tenantId: 'tenant', tokenId: 'a' };
  const b = { tenantId: 'tenant', tokenId: 'b' };
  t.equal(throttle.take(a), undefined);
  t.equal(throttle.take(a), undefined);
  t.match(throttle.take(a), { reason: 'token', retryAfterSeconds: 60 }, 'the token is empty, the tenant is not');
  t.equal(throttle.take(b), undefined, 'another token of the tenant still passes');
  t.match(throttle.take(b), { reason: 'tenant' }, 'now the tenant is empty');
  t.equal(throttle.take({ tenantId: 'other', tokenId: 'c' }), undefined, 'other tenants have their own bucket');
});

t.test('RequestThrottle.takeMore: the rest of a multi-token request, capped at the burst, nothing taken on refusal', async (t) => {
  const throttle = new RequestThrottle({ perSecond: 1 / 60, burst: 10 });
  const key = { tenantId: 'tenant', tokenId: 'a' };
  t.equal(throttle.take(key), undefined);
  t.equal(throttle.takeMore(key, 6), undefined, 'a cost of 6: 5 more after the one the hook took (4 left)');
  t.equal(throttle.takeMore(key, 1), undefined, 'a cost of 1 takes nothing more');
  t.equal(throttle.take(key), undefined, '3 left');
  t.match(throttle.takeMore(key, 5), { reason: 'tenant', retryAfterSeconds: 60 }, '4 more do not fit in 3');
  for (let i = 0; i < 3; i++) t.equal(throttle.take(key), undefined, `the refusal took nothing (${i + 1}/3)`);
  t.ok(throttle.take(key), 'now it is empty');

  const fresh = { tenantId: 'other', tokenId: 'b' };
  t.equal(throttle.take(fresh), undefined);
  t.equal(throttle.takeMore(fresh, 1000), undefined, 'a cost above the burst passes on a full bucket rather than never');
  t.ok(throttle.take(fresh), 'and spent the whole bucket');
});

t.test('failed authentications are throttled per source address, before the token is looked up', async (t) => {
  const test = await testApp(t, { AUTH_FAILURE_RATE_LIMIT: '1/m,burst=3' });
  const scim = (remoteAddress: string, token: string) =>
    test.app.inject({ method: 'GET', url: '/scim/v2/acme/Users', remoteAddress, headers: { authorization: `Bearer ${token}` } });
  const guesser = '203.0.113.7';
  for (let i = 0; i < 3; i++) t.equal((await scim(guesser, `prv_guess${i}`)).statusCode, 401, `guess ${i} is a 401`);
  let lookups = 0;
  const verify = TokenVerifier.prototype.verify;
  TokenVerifier.prototype.verify = function (this: TokenVerifier, ...args) {
    lookups++;
    return verify.apply(this, args);
  };
  t.teardown(() => void (TokenVerifier.prototype.verify = verify));
  assert429(t, await scim(guesser, 'prv_guess3'), 'a guess after the burst');
  assert429(t, await scim(guesser, test.scim.token), 'even a valid token that would need a lookup');
  t.equal(lookups, 0, 'no token was looked up for the refused address');
  TokenVerifier.prototype.verify = verify;
  t.equal((await scim('198.51.100.9', 'prv_guess4')).statusCode, 401, 'another address still gets 401');
  t.equal((await scim('198.51.100.9', test.scim.token)).statusCode, 200, 'and passes with a valid token');

  // The admin API counts into the same buckets.
  const admin = (remoteAddress: string, token: string) =>
    test.app.inject({ method: 'GET', url: '/v1/admin/tenants', remoteAddress, headers: { authorization: `Bearer ${token}` } });
  const refused = await admin(guesser, 'pva_guess');
  t.equal(refused.statusCode, 429, 'the admin API refuses the same address');
  t.match(JSON.parse(refused.body), { statusCode: 429, code: 'too_many_requests' });
  t.match(refused.headers['retry-after'], /^[1-9]\d*$/);
  const other = '192.0.2.44';
  for (let i = 0; i < 3; i++) t.equal((await admin(other, `pva_guess${i}`)).statusCode, 401);
  t.equal((await admin(other, 'pva_guess3')).statusCode, 429, 'admin failures empty the bucket too');
  t.equal((await scim(other, test.scim.token)).statusCode, 429, 'and then SCIM from that address waits as well');
});

t.test('a token verified from the cache passes even from an address refused for failures', async (t) => {
  const test = await testApp(t, { AUTH_FAILURE_RATE_LIMIT: '1/m,burst=2', SCIM_TOKEN_CACHE_MS: '60000' });
  const nat = '203.0.113.50';
  const inject = (token: string) => test.app.inject({ method: 'GET', url: '/scim/v2/acme/Users', remoteAddress: nat, headers: { authorization: `Bearer ${token}` } });
  t.equal((await inject(test.scim.token)).statusCode, 200, 'the IdP is verified and cached');
  t.equal((await inject('prv_guess0')).statusCode, 401);
  t.equal((await inject('prv_guess1')).statusCode, 401);
  t.equal((await inject('prv_guess1')).statusCode, 429, 'a cached bad token is refused too once the address is empty');
  t.equal((await inject(test.scim.token)).statusCode, 200, 'the IdP behind the same address keeps working');
});

t.test('off disables both limits', async (t) => {
  const test = await testApp(t, { SCIM_RATE_LIMIT: 'off', AUTH_FAILURE_RATE_LIMIT: 'off', SCIM_TOKEN_CACHE_MS: '60000' });
  t.equal(test.config.scim.rateLimit, undefined);
  const answers = await Promise.all(Array.from({ length: 700 }, () => test.scim.request('GET', '/ServiceProviderConfig')));
  t.same([...new Set(answers.map((a) => a.statusCode))], [200], '700 requests at once: more than the default burst of 500');
  const failures = await Promise.all(Array.from({ length: 150 }, (_, i) => test.scim.request('GET', '/Users', undefined, { authorization: `Bearer prv_guess${i}` })));
  t.same([...new Set(failures.map((a) => a.statusCode))], [401], '150 failures: more than the default burst of 100');
});

t.test('/metrics counts throttled requests by tenant and reason', async (t) => {
  const database = await testDatabase(t);
  const metrics = createMetrics({ db: database.db });
  const config = loadConfig({ LOG_LEVEL: 'silent', SCIM_TOKEN_CACHE_MS: '0', SCIM_RATE_LIMIT: '1/m,burst=1', AUTH_FAILURE_RATE_LIMIT: '1/m,burst=1' });
  const app = await buildApp({ config, database, logger: pino({ level: 'silent' }), metrics });
  t.teardown(() => app.close());
  const { token } = await createTenant(database.db, { name: 'acme' });
  const get = (authorization: string) => app.inject({ method: 'GET', url: '/scim/v2/acme/Users', headers: { authorization } });
  t.equal((await get(`Bearer ${token}`)).statusCode, 200);
  t.equal((await get(`Bearer ${token}`)).statusCode, 429);
  t.equal((await get(`Bearer ${token}`)).statusCode, 429);
  t.equal((await get('Bearer prv_nope')).statusCode, 401);
  t.equal((await get('Bearer prv_nope')).statusCode, 429);
  const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(body, /provisio_scim_throttled_total\{tenant="acme",reason="tenant"\} 2/);
  t.match(body, /provisio_scim_throttled_total\{tenant="unauthenticated",reason="auth_failures"\} 1/);
  t.match(body, /provisio_scim_requests_total\{resource="Users",method="GET",status="429"\} 3/);
  t.match(body, /provisio_scim_tenant_requests_total\{tenant="acme",outcome="client_error"\} 2/);
});

t.test('AuthFailureThrottle: IPv6 counts per /64, IPv4-mapped as IPv4', async (t) => {
  t.equal(addressKey('203.0.113.7'), '203.0.113.7');
  t.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
  t.equal(addressKey('2001:db8:0:1:aaaa::1'), '2001:db8:0:1::/64');
  t.equal(addressKey('2001:0db8:0000:0001:ffff:ffff:ffff:ffff'), '2001:db8:0:1::/64');
  t.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  t.equal(addressKey('::1'), '0:0:0:0::/64');
  t.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  const throttle = new AuthFailureThrottle({ perSecond: 1 / 60, burst: 1 });
  t.equal(throttle.refused('2001:db8:0:1::5'), undefined);
  throttle.failed('2001:db8:0:1::5');
  t.ok(throttle.refused('2001:db8:0:1:ffff::9'), 'another address of the same /64 is refused');
  t.equal(throttle.refused('2001:db8:0:2::5'), undefined, 'another /64 is not');
});

t.test('behind a trusted proxy (TRUST_PROXY) failed authentications count per client, not per proxy', async (t) => {
  const { loadConfig: load, ConfigError } = await import('../../src/config.js');
  t.same(load({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.1' }).trustProxy, ['10.0.0.0/8', '192.168.1.1']);
  t.equal(load({ TRUST_PROXY: '2' }).trustProxy, 2);
  t.equal(load({}).trustProxy, undefined, 'no proxy is trusted by default');
  t.throws(() => load({ TRUST_PROXY: 'the load balancer' }), ConfigError);

  const test = await testApp(t, { AUTH_FAILURE_RATE_LIMIT: '1/m,burst=2', TRUST_PROXY: '10.0.0.1' });
  const via = (client: string, token: string, proxy = '10.0.0.1') =>
    test.app.inject({ method: 'GET', url: '/scim/v2/acme/Users', remoteAddress: proxy, headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': client } });
  for (let i = 0; i < 2; i++) t.equal((await via('203.0.113.7', `prv_guess${i}`)).statusCode, 401);
  t.equal((await via('203.0.113.7', 'prv_guess2')).statusCode, 429, 'the guessing client is refused');
  t.equal((await via('198.51.100.9', test.scim.token)).statusCode, 200, 'another client behind the same proxy is not');
  // An untrusted peer cannot pick its address with the header.
  for (let i = 0; i < 2; i++) await via(`192.0.2.${i}`, `prv_guess${i}`, '198.18.0.1');
  t.equal((await via('192.0.2.99', 'prv_guess9', '198.18.0.1')).statusCode, 429, 'X-Forwarded-For from an untrusted peer is ignored');
});
