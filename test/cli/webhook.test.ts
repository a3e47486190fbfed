import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { pino } from 'pino';
import { PgBoss } from 'pg-boss';
import { Webhook } from 'standardwebhooks';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { DeliveryWorker } from '../../src/events/delivery-worker.js';
import { WebhookQueue } from '../../src/events/queue.js';
import { sequenceEvents } from '../../src/events/sequencer.js';
import { WebhookSender } from '../../src/events/webhook-sender.js';
import { secretBoxFor } from '../../src/secrets.js';
import { onPool } from '../../src/sync/queue.js';
import { cliEnv, runProvisio as cli } from '../helpers/cli.js';
import { TEST_BACKEND } from '../helpers/db.js';
import { GROUP_URN, SCIM_JSON, USER_URN } from '../helpers/app.js';
import { until } from '../helpers/wait.js';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** A CLI environment with an encryption key (PostgreSQL has no generated one) and receivers on this machine allowed. */
async function webhookEnv(t: Parameters<typeof cliEnv>[0]): Promise<Record<string, string>> {
  return { ...await cliEnv(t), PROVISIO_ENCRYPTION_KEY: randomBytes(32).toString('base64'), WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8' };
}

/** Opens the CLI's database for `fn` and closes it again: PGlite admits one owner, and the next CLI command is one. */
async function onDatabase<T>(env: Record<string, string>, fn: (database: DatabaseHandle, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig(env);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    return await fn(database, config);
  } finally {
    await database.close();
  }
}

interface Received {
  id: string;
  type: string;
  sequence: number;
  subject: string;
  signatures: number;
}

/** A receiver on 127.0.0.1 that verifies every delivery with each of `secrets` and answers `status`. */
async function receiver(t: { teardown(fn: () => unknown): void }) {
  const state = { status: 400, secrets: [] as string[], received: [] as Received[], unverified: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = req.headers as Record<string, string>;
      try {
        for (const secret of state.secrets) new Webhook(secret).verify(body, headers);
        const event = JSON.parse(body) as { id: string; type: string; sequence: number; data: { user?: { id: string }; group?: { id: string }; member?: { id: string } } };
        if (event.id !== headers['webhook-id']) throw new Error('webhook-id is not the event id');
        state.received.push({
          id: event.id, type: event.type, sequence: event.sequence,
          subject: event.data.member?.id ?? event.data.user?.id ?? event.data.group?.id ?? '',
          signatures: headers['webhook-signature']!.split(' ').length,
        });
      } catch {
        state.unverified++;
      }
      res.writeHead(state.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

/**
 * Numbers the outbox and runs a delivery worker on the CLI's database until `done`, as a server would
 * (the CLI writes the endpoints and queues redeliveries; the server numbers and delivers).
 */
async function deliver(env: Record<string, string>, done: () => boolean): Promise<void> {
  await onDatabase(env, async (database, config) => {
    const boss = new PgBoss({ db: onPool(database.pool), schema: config.sync.queueSchema, supervise: false, schedule: false });
    await boss.start();
    const queue = await WebhookQueue.start(boss, config.events.jobExpireSeconds);
    // The sequencer numbers only settled transactions: another test file's open transaction can hold it back a moment.
    await until('events numbered', async () => (await sequenceEvents(database.db, queue)).numbered === 0 && !(await database.db.selectFrom('events').select('id').where('seq', 'is', null).executeTakeFirst()));
    const sender = new WebhookSender({ policy: { allowHttp: false, allowedNetworks: config.events.allowedNetworks }, timeoutMs: 5000 });
    const worker = new DeliveryWorker({
      db: database.db, queue, sender, box: secretBoxFor(config)!, logger: pino({ level: 'silent' }),
      settings: { concurrency: 4, perEndpoint: 4, pollMs: 50, firstRetryDelayMs: 60_000, maxRetryDelayMs: 60_000, retryPeriodMs: 3_600_000, disableAfterMs: 3_600_000 },
    });
    worker.start();
    try {
      await until('deliveries', done);
    } finally {
      await worker.stop();
      await sender.close();
      await boss.stop({ graceful: false });
    }
  });
}

t.test('webhook add prints the secret once; list and show never do; update, rotate-secret, remove', async (t) => {
  const env = await webhookEnv(t);
  t.equal((await cli(env, 'tenant', 'create', 'acme')).code, 0);

  const added = await cli(env, 'webhook', 'add', 'https://hooks.example.com/provisio', '--tenant', 'acme', '--types', 'user.created,group.member_added', '--description', 'CRM', '--json');
  t.equal(added.code, 0, added.err);
  const { endpoint, secret } = JSON.parse(added.out) as { endpoint: Record<string, unknown> & { id: string }; secret: string };
  t.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/, 'a Standard Webhooks secret: whsec_ and 32 bytes of base64');
  t.match(endpoint, { url: 'https://hooks.example.com/provisio', tenant: 'acme', eventTypes: ['user.created', 'group.member_added'], description: 'CRM', status: 'enabled' });

  const human = await cli(env, 'webhook', 'add', 'https://hooks.example.com/all');
  t.equal(human.code, 0, human.err);
  t.equal(human.out.match(/whsec_/g)?.length, 1, 'the human output prints the secret once');
  t.match(human.out, /every event type, of every tenant/);
  t.match(human.out, /shown once/);
  const globalId = /endpoint ([0-9a-f-]{36}) added/.exec(human.out)![1]!;

  const list = await cli(env, 'webhook', 'list', '--json');
  const listed = JSON.parse(list.out) as { id: string; tenant: string | null; secrets: object[]; pending: number; failed: number }[];
  t.same(listed.map((e) => [e.id, e.tenant]), [[endpoint.id, 'acme'], [globalId, null]]);
  t.same(listed[0]!.secrets.map((s) => Object.keys(s)), [['createdAt']], 'only when each secret was made');
  t.match(listed[0], { pending: 0, failed: 0 });
  const humanList = await cli(env, 'webhook', 'list');
  t.match(humanList.out, new RegExp(`${endpoint.id}\tenabled\tacme\thttps://hooks.example.com/provisio\tuser.created,group.member_added`));
  t.match(humanList.out, new RegExp(`${globalId}\tenabled\t\\(every tenant\\)`));
  t.equal((await cli(env, 'tenant', 'create', 'globex')).code, 0);
  t.same(JSON.parse((await cli(env, 'webhook', 'list', '--tenant', 'globex', '--json')).out).map((e: { id: string }) => e.id), [globalId], 'a tenant\'s list has the endpoints for every tenant');
  const show = await cli(env, 'webhook', 'show', endpoint.id);
  t.equal(show.code, 0, show.err);
  t.match(show.out, /url: https:\/\/hooks.example.com\/provisio/);
  t.match(show.out, /event types: user.created, group.member_added/);
  for (const out of [list.out, humanList.out, show.out, (await cli(env, 'webhook', 'show', endpoint.id, '--json')).out]) {
    t.notOk(out.includes(secret) || out.includes('whsec_') || out.includes('sealed'), 'no secret, sealed or not, in list or show');
  }

  const updated = await cli(env, 'webhook', 'update', endpoint.id, '--url', 'https://crm.example.com/in', '--types', '*', '--description', '', '--disable', '--json');
  t.equal(updated.code, 0, updated.err);
  t.match(JSON.parse(updated.out), { url: 'https://crm.example.com/in', eventTypes: [], description: null, status: 'disabled', disabledReason: 'disabled by an operator' });
  const enabled = await cli(env, 'webhook', 'update', endpoint.id, '--enable', '--types', 'user.deleted');
  t.equal(enabled.code, 0, enabled.err);
  t.match(enabled.out, /updated \(enabled\)/);
  t.equal((await cli(env, 'webhook', 'update', endpoint.id, '--enable', '--disable')).code, 2);
  t.match((await cli(env, 'webhook', 'update', endpoint.id)).err, /nothing to change/);
  const badUrl = await cli(env, 'webhook', 'update', endpoint.id, '--url', 'ftp://crm.example.com/in');
  t.equal(badUrl.code, 2);
  t.match(badUrl.err, /url: Webhook URLs use https, not ftp:/);
  t.match((await cli(env, 'webhook', 'update', endpoint.id, '--types', 'user.exploded')).err, /--types: unknown event type\(s\) user.exploded; known: user.created/);

  const rotated = await cli(env, 'webhook', 'rotate-secret', endpoint.id, '--overlap-hours', '2', '--json');
  t.equal(rotated.code, 0, rotated.err);
  const rotation = JSON.parse(rotated.out) as { secret: string; previousSecretsExpireAt: string; endpoint: { secrets: { createdAt: string; expiresAt?: string }[] } };
  t.match(rotation.secret, /^whsec_/);
  t.not(rotation.secret, secret);
  t.ok(Math.abs(Date.parse(rotation.previousSecretsExpireAt) - (Date.now() + 2 * 3_600_000)) < 60_000, 'the previous secret signs for two more hours');
  t.same(rotation.endpoint.secrets.map((s) => s.expiresAt), [undefined, rotation.previousSecretsExpireAt], 'the new secret first, the previous one with its end');
  const humanRotation = await cli(env, 'webhook', 'rotate-secret', endpoint.id);
  t.match(humanRotation.out, /signed with the previous secret too/);
  t.equal(humanRotation.out.match(/whsec_/g)?.length, 1);
  t.equal((await cli(env, 'webhook', 'rotate-secret', endpoint.id, '--overlap-hours', 'soon')).code, 2);
  t.match((await cli(env, 'webhook', 'rotate-secret', endpoint.id, '--overlap-hours', '200')).err, /from 0 to 168/, 'a week at most, as in the admin API');

  t.match((await cli(env, 'webhook', 'remove', endpoint.id)).out, /removed/);
  const gone = await cli(env, 'webhook', 'show', endpoint.id);
  t.equal(gone.code, 1);
  t.match(gone.err, /no webhook endpoint/);
  t.equal((await cli(env, 'webhook', 'remove', endpoint.id)).code, 1);
  const notAnId = await cli(env, 'webhook', 'show', '42');
  t.equal(notAnId.code, 2);
  t.match(notAnId.err, /is not a webhook endpoint id/);
});

t.test('a refused URL exits 2 with the rule it broke; nothing is stored', async (t) => {
  const env = await webhookEnv(t);
  const http = await cli(env, 'webhook', 'add', 'http://10.0.0.1/hook');
  t.equal(http.code, 2);
  t.match(http.err, /url: Webhook URLs use https \(plain http is accepted for localhost only, unless WEBHOOK_ALLOW_HTTP=true\)/);
  const privateHttps = await cli(env, 'webhook', 'add', 'https://10.0.0.1/hook');
  t.equal(privateHttps.code, 2);
  t.match(privateHttps.err, /10\.0\.0\.1 is a private address: webhooks go to the public internet only \(allow a network with WEBHOOK_ALLOWED_NETWORKS\)/);
  const metadata = await cli(env, 'webhook', 'add', 'https://169.254.169.254/latest');
  t.equal(metadata.code, 2);
  t.match(metadata.err, /linkLocal address/);
  t.equal((await cli(env, 'webhook', 'add', 'https://user:pw@hooks.example.com/')).code, 2);
  t.equal((await cli(env, 'webhook', 'add', 'https://hooks.example.com/', '--tenant', 'nobody')).code, 2);
  t.match((await cli(env, 'webhook', 'list')).out, /No webhook endpoints yet/);

  const keyless = { ...env };
  delete keyless.PROVISIO_ENCRYPTION_KEY;
  if (TEST_BACKEND === 'postgres') {
    const noKey = await cli(keyless, 'webhook', 'add', 'https://hooks.example.com/');
    t.equal(noKey.code, 2, 'PostgreSQL without PROVISIO_ENCRYPTION_KEY cannot seal a secret');
    t.match(noKey.err, /PROVISIO_ENCRYPTION_KEY/);
  }
});

t.test('events pull by sequence; deliveries; redeliver queues the given-up ones and a worker sends them', async (t) => {
  const env = await webhookEnv(t);
  const created = await cli(env, 'tenant', 'create', 'acme', '--json');
  t.equal(created.code, 0, created.err);
  const scimToken = (JSON.parse(created.out) as { token: string }).token;
  const hook = await receiver(t);
  const added = await cli(env, 'webhook', 'add', hook.url, '--tenant', 'acme', '--json');
  t.equal(added.code, 0, added.err);
  const { endpoint, secret } = JSON.parse(added.out) as { endpoint: { id: string }; secret: string };
  hook.state.secrets = [secret];

  // A user, a group with her in it, then a change of her name: four events.
  const ids = await onDatabase(env, async (database, config) => {
    const app = await buildApp({ config, database, logger: pino({ level: 'silent' }) });
    try {
      const send = async (method: 'POST' | 'PATCH', url: string, body: unknown) => {
        const res = await app.inject({ method, url: `/scim/v2/acme${url}`, headers: { authorization: `Bearer ${scimToken}`, 'content-type': SCIM_JSON }, payload: JSON.stringify(body) });
        if (res.statusCode >= 300) throw new Error(res.body);
        return (JSON.parse(res.body) as { id: string }).id;
      };
      const alice = await send('POST', '/Users', { schemas: [USER_URN], userName: 'alice@acme.test', name: { givenName: 'Alice' } });
      const staff = await send('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Staff', members: [{ value: alice }] });
      await send('PATCH', `/Users/${alice}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'name.givenName', value: 'Alicia' }] });
      return { alice, staff };
    } finally {
      await app.close();
    }
  });

  // The receiver refuses everything with a 400: not retried, each delivery given up at once.
  await deliver(env, () => hook.state.received.length === 4);
  t.equal(hook.state.unverified, 0, 'every delivery verifies with the endpoint secret');

  const pulled = await cli(env, 'events', 'acme', '--json');
  t.equal(pulled.code, 0, pulled.err);
  const page = JSON.parse(pulled.out) as { events: { id: string; type: string; sequence: number; tenant: { name: string }; data: Record<string, unknown> }[]; next: number; hasMore: boolean; oldestSequence: number; lastSequence: number };
  t.same(page.events.map((e) => [e.sequence, e.type]), [[1, 'user.created'], [2, 'group.created'], [3, 'group.member_added'], [4, 'user.updated']]);
  t.match(page, { next: 4, hasMore: false, oldestSequence: 1, lastSequence: 4 });
  t.match(page.events[0], { tenant: { name: 'acme' }, data: { user: { id: ids.alice, userName: 'alice@acme.test' } } });
  t.same(page.events[3]!.data.changed, ['name']);
  t.same(new Set(hook.state.received.map((r) => r.id)), new Set(page.events.map((e) => e.id)), 'the webhook and the pull carry the same events');

  const paged = JSON.parse((await cli(env, 'events', 'acme', '--after', '1', '--limit', '2', '--json')).out);
  t.same(paged.events.map((e: { sequence: number }) => e.sequence), [2, 3]);
  t.match(paged, { next: 3, hasMore: true });
  const filtered = JSON.parse((await cli(env, 'events', 'acme', '--types', 'group.created', '--json')).out);
  t.same(filtered.events.map((e: { type: string }) => e.type), ['group.created']);
  t.match(filtered, { next: 2, hasMore: false, lastSequence: 4 });
  const human = await cli(env, 'events', 'acme', '--after', '2');
  t.match(human.out, /^3\t\S+\tgroup.member_added\tStaff ∋ [0-9a-f-]{36}\t/m);
  t.match(human.out, /^4\t\S+\tuser.updated\talice@acme.test\t/m);
  t.match(human.out, /No more for now; poll again with --after 4\./);
  t.match((await cli(env, 'events', 'acme', '--limit', '1')).out, /More: provisio events acme --after 1/);
  t.equal((await cli(env, 'events', 'acme', '--types', 'user.exploded')).code, 2);
  t.equal((await cli(env, 'events', 'acme', '--after', '-1')).code, 2);
  t.equal((await cli(env, 'events', 'nobody')).code, 2);

  const failed = JSON.parse((await cli(env, 'webhook', 'deliveries', endpoint.id, '--failed', '--json')).out) as { eventId: string; state: string; attempts: number; lastStatus: number }[];
  t.equal(failed.length, 4);
  t.ok(failed.every((d) => d.state === 'failed' && d.attempts === 1 && d.lastStatus === 400), 'a 400 is not retried');
  t.same(JSON.parse((await cli(env, 'webhook', 'deliveries', endpoint.id, '--pending', '--json')).out), []);
  t.match((await cli(env, 'webhook', 'deliveries', endpoint.id)).out, /^failed\tacme\t1\tuser.created\t[0-9a-f-]{36}\tattempts 1\t400 answered 400/m);
  t.match((await cli(env, 'webhook', 'show', endpoint.id)).out, /0 pending, 4 failed \(provisio webhook redeliver/);

  // Rotated with an overlap: the next deliveries carry two signatures, each verifying with its own secret.
  const rotated = JSON.parse((await cli(env, 'webhook', 'rotate-secret', endpoint.id, '--overlap-hours', '1', '--json')).out) as { secret: string };
  hook.state.secrets = [secret, rotated.secret];
  hook.state.status = 204;
  hook.state.received = [];

  const first = page.events[0]!.id;
  const one = await cli(env, 'webhook', 'redeliver', endpoint.id, '--event', first, '--json');
  t.equal(one.code, 0, one.err);
  t.same(JSON.parse(one.out), { queued: 1, subjects: 1 });
  await deliver(env, () => hook.state.received.length === 1);
  t.same(hook.state.received.map((r) => [r.id, r.signatures]), [[first, 2]], 'the redelivered event, with the same webhook-id, signed twice');

  const rest = await cli(env, 'webhook', 'redeliver', endpoint.id);
  t.equal(rest.code, 0, rest.err);
  t.match(rest.out, /3 delivery\(ies\) queued again \(2 user\(s\)\/group\(s\)\)/);
  await deliver(env, () => hook.state.received.length === 4);
  t.equal(hook.state.unverified, 0);
  t.same(hook.state.received.filter((r) => r.subject === ids.alice).map((r) => r.type), ['user.created', 'group.member_added', 'user.updated'], 'in sequence order per user');
  t.same(JSON.parse((await cli(env, 'webhook', 'deliveries', endpoint.id, '--failed', '--json')).out), []);
  t.match((await cli(env, 'webhook', 'redeliver', endpoint.id)).out, /No failed deliveries/);
  t.equal((await cli(env, 'webhook', 'redeliver', endpoint.id, '--event', 'nope')).code, 2);
});
