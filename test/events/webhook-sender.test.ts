/**
 * Webhook delivery against a real receiver over HTTP that verifies every signature with the official
 * `standardwebhooks` verifier, and the destination guard refusing what would make Provisio a proxy into
 * its own network.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import t from 'tap';
import { Webhook } from 'standardwebhooks';
import { checkAddress, checkDestinationUrl, DestinationError, STRICT_DESTINATIONS } from '../../src/events/destination.js';
import { retryAfterMs, WebhookSender } from '../../src/events/webhook-sender.js';

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;
const LOOPBACK = { allowHttp: false, allowedNetworks: ['127.0.0.0/8'] };

interface Received { headers: Record<string, string | string[] | undefined>; body: string }

interface Answer { status: number; headers?: Record<string, string>; body?: string; delayMs?: number }

async function receiver(t: { teardown(fn: () => unknown): void }, answer: (n: number) => Answer) {
  const received: Received[] = [];
  const app = Fastify();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.post('/hook', async (request, reply) => {
    received.push({ headers: request.headers, body: String(request.body) });
    const a = answer(received.length);
    if (a.delayMs) await new Promise((r) => setTimeout(r, a.delayMs));
    return reply.status(a.status).headers(a.headers ?? {}).send(a.body ?? '');
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  return { url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}/hook`, received };
}

function message(body: unknown) {
  return { id: `evt_${randomUUID()}`, timestamp: new Date(), body: JSON.stringify(body) };
}

t.test('a delivery verifies with the official verifier, with either secret while a rotation overlaps', async (t) => {
  const r = await receiver(t, () => ({ status: 204 }));
  const sender = new WebhookSender({ policy: LOOPBACK });
  t.teardown(() => sender.close());
  const [current, previous] = [secret(), secret()];
  const msg = message({ type: 'user.created', data: { userName: 'ada@acme.test' } });
  const result = await sender.send(r.url, [current, previous], msg);
  t.match(result, { delivered: true, status: 204 });
  const got = r.received[0]!;
  t.equal(got.body, msg.body, 'the exact bytes signed');
  const headers = { 'webhook-id': String(got.headers['webhook-id']), 'webhook-timestamp': String(got.headers['webhook-timestamp']), 'webhook-signature': String(got.headers['webhook-signature']) };
  t.same(new Webhook(current).verify(got.body, headers), JSON.parse(msg.body), 'the new secret verifies');
  t.same(new Webhook(previous).verify(got.body, headers), JSON.parse(msg.body), 'and so does the old one during the overlap');
  t.throws(() => new Webhook(secret()).verify(got.body, headers), /signature/i, 'any other secret does not');
  t.throws(() => new Webhook(current).verify(got.body.replace('ada', 'eve'), headers), /signature/i, 'a changed body does not verify');
  t.equal(headers['webhook-id'], msg.id, 'the event id is the receiver\'s idempotency key');
});

t.test('failures say whether to retry and when', async (t) => {
  const r = await receiver(t, (n) => ([
    { status: 503, body: 'down for maintenance' },
    { status: 429, headers: { 'retry-after': '7' } },
    { status: 400, body: '{"error":"bad"}' },
    { status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data' } },
    { status: 200, delayMs: 1500 },
  ] as Answer[])[n - 1] ?? { status: 200 });
  const sender = new WebhookSender({ policy: LOOPBACK, timeoutMs: 500 });
  t.teardown(() => sender.close());
  const send = () => sender.send(r.url, [secret()], message({ n: 1 }));
  t.match(await send(), { delivered: false, status: 503, retryable: true, error: /503: down for maintenance/ });
  t.match(await send(), { delivered: false, status: 429, retryable: true, retryAfterMs: 7000 });
  t.match(await send(), { delivered: false, status: 400, retryable: false });
  const redirected = await send();
  t.match(redirected, { delivered: false, status: 302, error: /redirects are not followed/ });
  t.equal(r.received.length, 4, 'the redirect was not followed');
  t.match(await send(), { delivered: false, retryable: true, error: /no answer within 500 ms/ });
  t.equal(retryAfterMs(new Date(Date.now() + 60_000).toUTCString()) !== undefined, true, 'an HTTP date works too');
  t.equal(retryAfterMs('soon'), undefined);
});

t.test('the destination guard: https, no credentials, nothing private unless allowed', async (t) => {
  const refused = (url: string, policy = STRICT_DESTINATIONS) => t.throws(() => checkDestinationUrl(url, policy), DestinationError, url);
  refused('http://receiver.example.com/hook');
  refused('ftp://receiver.example.com/hook');
  refused('https://user:pw@receiver.example.com/hook');
  refused('https://10.0.0.5/hook');
  refused('https://169.254.169.254/latest/meta-data');
  refused('https://[::1]/hook');
  refused('https://[fd00::1]/hook');
  refused('https://[::ffff:192.168.1.1]/hook');
  refused('https://100.64.0.1/hook');
  refused('not a url');
  t.doesNotThrow(() => checkDestinationUrl('https://receiver.example.com/hook', STRICT_DESTINATIONS));
  t.doesNotThrow(() => checkDestinationUrl('https://93.184.216.34/hook', STRICT_DESTINATIONS));
  t.doesNotThrow(() => checkDestinationUrl('http://receiver.internal.test/hook', { allowHttp: true, allowedNetworks: [] }), 'http when enabled');
  t.doesNotThrow(() => checkAddress('10.20.3.4', { allowHttp: false, allowedNetworks: ['10.20.0.0/16'] }), 'a configured network');
  t.throws(() => checkAddress('10.21.3.4', { allowHttp: false, allowedNetworks: ['10.20.0.0/16'] }), DestinationError);
});

t.test('a name that resolves to a private address is refused when connecting (DNS rebinding)', async (t) => {
  const r = await receiver(t, () => ({ status: 200 }));
  const port = new URL(r.url).port;
  const strict = new WebhookSender({ policy: { allowHttp: true, allowedNetworks: [] } });
  t.teardown(() => strict.close());
  // `localhost` passes the URL check (http is allowed for it) and resolves to loopback.
  const result = await strict.send(`http://localhost:${port}/hook`, [secret()], message({}));
  t.match(result, { delivered: false, retryable: false, error: /loopback address/ });
  const literal = await strict.send(`http://127.0.0.1:${port}/hook`, [secret()], message({}));
  t.match(literal, { delivered: false, retryable: false, error: /loopback/ });
  t.equal(r.received.length, 0, 'nothing reached the receiver');
});
