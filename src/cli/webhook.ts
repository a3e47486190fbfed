import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { PgBoss } from 'pg-boss';
import { requireTenant } from '../admin/tenants.js';
import type { Config } from '../config.js';
import type { DatabaseHandle } from '../db/client.js';
import { EVENT_TYPES, eventBounds, listEvents, type EventEnvelope } from '../db/events.js';
import type { Database } from '../db/schema.js';
import { listTenants } from '../db/tenants.js';
import {
  deleteWebhookEndpoint, deliveryCounts, findWebhookEndpoint, listDeliveries, listWebhookEndpoints, redeliverFailed,
  type WebhookEndpointRow,
} from '../db/webhooks.js';
import type { DestinationPolicy } from '../events/destination.js';
import { changeEndpoint, createEndpoint, describeDelivery, describeEndpoint, EndpointError, rotateSecret } from '../events/endpoints.js';
import { WebhookQueue } from '../events/queue.js';
import { secretBoxFor } from '../secrets.js';
import { onPool } from '../sync/queue.js';
import { CliError, printJson, withDatabase, type CliIo } from './io.js';

/** Deliveries of an endpoint that owes nothing (absent from `deliveryCounts`). */
const NONE = { pending: 0, failed: 0 };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function policy(config: Config): DestinationPolicy {
  return { allowHttp: config.events.allowHttp, allowedNetworks: config.events.allowedNetworks };
}

/** An endpoint refused by src/events/endpoints.ts: bad input and missing configuration exit 2, an unknown id 1. */
function refused(err: unknown): never {
  if (err instanceof EndpointError) throw new CliError(err.message, err.status === 404 ? 1 : 2);
  throw err;
}

function endpointId(id: string): string {
  if (!UUID.test(id)) throw new CliError(`"${id}" is not a webhook endpoint id (see provisio webhook list)`, 2);
  return id;
}

async function requireEndpoint(db: Kysely<Database>, id: string): Promise<WebhookEndpointRow> {
  const row = await findWebhookEndpoint(db, endpointId(id));
  if (!row) throw new CliError(`no webhook endpoint ${id}`);
  return row;
}

/** `--types a,b`: empty or `*` is every type; an unknown name is refused with the list of known ones. */
function eventTypes(raw: string): string[] {
  const types = raw.split(',').map((t) => t.trim()).filter((t) => t !== '' && t !== '*');
  const unknown = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0) throw new CliError(`--types: unknown event type(s) ${unknown.join(', ')}; known: ${EVENT_TYPES.join(', ')}`, 2);
  return types;
}

function integer(option: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new CliError(`${option} must be an integer from ${min} to ${max}, got "${raw}"`, 2);
  return Number(raw);
}

/** The endpoint as `describeEndpoint` gives it, with its tenant's name (null: every tenant's events). */
function endpointView(row: WebhookEndpointRow, tenantNames: ReadonlyMap<string, string>, counts?: { pending: number; failed: number }) {
  return { ...describeEndpoint(row, counts), tenant: row.tenant_id ? tenantNames.get(row.tenant_id) ?? row.tenant_id : null };
}

async function tenantNames(db: Kysely<Database>): Promise<Map<string, string>> {
  return new Map((await listTenants(db)).map((t) => [t.id, t.name]));
}

/**
 * Runs `fn` with the webhook queue on this database: the running server's job queue when the command came
 * over its control socket, else a pg-boss of our own on the CLI's connection (started like the sync queue,
 * without supervision: the servers supervise), stopped afterwards.
 */
async function withWebhookQueue<T>(io: CliIo, database: DatabaseHandle, config: Config, fn: (queue: WebhookQueue) => Promise<T>): Promise<T> {
  if (io.server?.queue) return fn(await WebhookQueue.start(io.server.queue.boss, config.events.jobExpireSeconds));
  const boss = new PgBoss({ db: onPool(database.pool), schema: config.sync.queueSchema, supervise: false, schedule: false });
  boss.on('error', () => undefined);
  await boss.start();
  try {
    return await fn(await WebhookQueue.start(boss, config.events.jobExpireSeconds));
  } finally {
    await boss.stop({ graceful: true, timeout: 10_000 });
  }
}


/** Who or what an event is about, in a few words for the human listing. */
function eventSummary(e: EventEnvelope): string {
  const data = e.data as { user?: { userName?: string; email?: string | null; id?: string }; group?: { displayName?: string }; member?: { id?: string }; email?: string | null; auth0UserId?: string };
  if (data.member && data.group) return `${data.group.displayName ?? ''} ∋ ${data.member.id ?? ''}`;
  if (data.group) return data.group.displayName ?? '';
  return data.user?.userName ?? data.user?.email ?? data.email ?? data.user?.id ?? data.auth0UserId ?? '';
}

/** `provisio webhook …` (endpoints, deliveries, redelivery) and `provisio events` (replay by pull): docs/events.md. */
export function registerWebhookCommands(program: Command, io: CliIo): void {
  const webhook = program.command('webhook').description('webhook endpoints that receive events (docs/events.md)');

  webhook
    .command('add <url>')
    .description('add an endpoint; prints its signing secret (shown once)')
    .option('--tenant <name>', 'only this tenant\'s events (default: every tenant\'s)')
    .option('--types <types>', `comma-separated event types (default: all): ${EVENT_TYPES.join(', ')}`)
    .option('--description <text>', 'what the endpoint is for')
    .option('--json', 'print JSON')
    .action(async (url: string, opts: { tenant?: string; types?: string; description?: string; json?: boolean }) => {
      const types = opts.types === undefined ? undefined : eventTypes(opts.types);
      await withDatabase(io, async ({ db }, config) => {
        const tenant = opts.tenant ? await requireTenant(db, opts.tenant) : undefined;
        const created = await createEndpoint(db, secretBoxFor(config), policy(config), {
          url, ...(tenant ? { tenantId: tenant.id } : {}), ...(opts.description ? { description: opts.description } : {}), ...(types ? { eventTypes: types } : {}),
        }).catch(refused);
        const endpoint = endpointView(created.endpoint, new Map(tenant ? [[tenant.id, tenant.name]] : []));
        if (opts.json) return io.out(JSON.stringify({ endpoint, secret: created.secret }));
        io.out(`Webhook endpoint ${endpoint.id} added: ${endpoint.url}\n` +
          `  receives: ${endpoint.eventTypes.length ? endpoint.eventTypes.join(', ') : 'every event type'}, of ${tenant ? `tenant "${tenant.name}"` : 'every tenant'}\n` +
          `  signing secret: ${created.secret}\n  (shown once; the receiver verifies each delivery with it, docs/events.md)`);
      });
    });

  webhook
    .command('list')
    .description('list endpoints (never their secrets)')
    .option('--tenant <name>', 'the endpoints receiving this tenant\'s events: its own and those for every tenant')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        const tenantId = opts.tenant ? (await requireTenant(db, opts.tenant)).id : undefined;
        const rows = await listWebhookEndpoints(db, tenantId ? { tenantId, includeGlobal: true } : {});
        const counts = await deliveryCounts(db, rows.map((r) => r.id));
        const names = await tenantNames(db);
        const endpoints = rows.map((r) => endpointView(r, names, counts.get(r.id) ?? NONE));
        if (opts.json) return printJson(io, endpoints);
        if (endpoints.length === 0) return io.out('No webhook endpoints yet: provisio webhook add <url>');
        for (const e of endpoints) {
          io.out(`${e.id}\t${e.status}\t${e.tenant ?? '(every tenant)'}\t${e.url}\t${e.eventTypes.join(',') || '(every type)'}\tpending ${e.pending}, failed ${e.failed}`);
        }
      });
    });

  webhook
    .command('show <id>')
    .description('show one endpoint (never its secrets)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        const row = await requireEndpoint(db, id);
        const e = endpointView(row, await tenantNames(db), (await deliveryCounts(db, [row.id])).get(row.id) ?? NONE);
        if (opts.json) return printJson(io, e);
        io.out([
          `${e.id} (${e.status})`,
          `  url: ${e.url}`,
          `  tenant: ${e.tenant ?? 'every tenant'}`,
          `  event types: ${e.eventTypes.join(', ') || 'all'}`,
          ...(e.description ? [`  description: ${e.description}`] : []),
          ...(e.disabledReason ? [`  disabled: ${e.disabledReason}`] : []),
          ...(e.failingSince ? [`  failing since: ${e.failingSince}`] : []),
          `  last success: ${e.lastSuccessAt ?? 'never'}`,
          `  deliveries: ${e.pending} pending, ${e.failed} failed${e.failed ? ` (provisio webhook redeliver ${e.id})` : ''}`,
          ...e.secrets.map((s) => `  secret made ${s.createdAt}${s.expiresAt ? `, signs until ${s.expiresAt}` : ''}`),
          `  created: ${e.createdAt}`,
        ].join('\n'));
      });
    });

  webhook
    .command('update <id>')
    .description('change an endpoint\'s URL, event types or description, or enable/disable it')
    .option('--url <url>', 'new URL (checked like a new endpoint\'s)')
    .option('--types <types>', 'comma-separated event types; "*" for all')
    .option('--description <text>', 'what the endpoint is for ("" clears it)')
    .option('--enable', 'enable (and forget the failure streak)')
    .option('--disable', 'disable: nothing is delivered, pending deliveries are given up')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { url?: string; types?: string; description?: string; enable?: boolean; disable?: boolean; json?: boolean }) => {
      if (opts.enable && opts.disable) throw new CliError('--enable and --disable are mutually exclusive', 2);
      const changes = {
        ...(opts.url !== undefined ? { url: opts.url } : {}),
        ...(opts.types !== undefined ? { eventTypes: eventTypes(opts.types) } : {}),
        ...(opts.description !== undefined ? { description: opts.description === '' ? null : opts.description } : {}),
        ...(opts.enable || opts.disable ? { enabled: Boolean(opts.enable) } : {}),
      };
      if (Object.keys(changes).length === 0) throw new CliError('nothing to change: give --url, --types, --description, --enable or --disable', 2);
      await withDatabase(io, async ({ db }, config) => {
        const updated = await changeEndpoint(db, policy(config), endpointId(id), changes).catch(refused);
        const e = endpointView(updated, await tenantNames(db), (await deliveryCounts(db, [updated.id])).get(updated.id) ?? NONE);
        if (opts.json) return printJson(io, e);
        io.out(`Webhook endpoint ${id} updated (${e.status}).`);
        if (opts.enable && (e.failed ?? 0) > 0) io.out(`  ${e.failed} delivery(ies) were given up meanwhile: provisio webhook redeliver ${id}`);
      });
    });

  webhook
    .command('remove <id>')
    .description('remove an endpoint with its pending and past deliveries')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        if (!(await deleteWebhookEndpoint(db, endpointId(id)))) throw new CliError(`no webhook endpoint ${id}`);
        if (opts.json) return printJson(io, { removed: id });
        io.out(`Webhook endpoint ${id} removed.`);
      });
    });

  webhook
    .command('rotate-secret <id>')
    .description('a new signing secret (shown once); the previous one keeps signing during the overlap')
    .option('--overlap-hours <hours>', 'how long the previous secret keeps signing beside the new one (0: stops now)', '24')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { overlapHours: string; json?: boolean }) => {
      const hours = Number(opts.overlapHours);
      // At most a week, as in the admin API (overlapSeconds ≤ 604800).
      if (opts.overlapHours.trim() === '' || !Number.isFinite(hours) || hours < 0 || hours > 168) {
        throw new CliError(`--overlap-hours must be a number of hours from 0 to 168, got "${opts.overlapHours}"`, 2);
      }
      await withDatabase(io, async ({ db }, config) => {
        const rotated = await rotateSecret(db, secretBoxFor(config), endpointId(id), Math.round(hours * 3600)).catch(refused);
        const endpoint = endpointView(rotated.endpoint, await tenantNames(db));
        if (opts.json) return io.out(JSON.stringify({ secret: rotated.secret, previousSecretsExpireAt: rotated.previousExpireAt.toISOString(), endpoint }));
        io.out(`New signing secret for ${id}:\n  ${rotated.secret}\n  (shown once) ` + (hours > 0
          ? `Until ${rotated.previousExpireAt.toISOString()} every delivery is signed with the previous secret too: switch the receiver before then.`
          : 'The previous secret no longer signs.'));
      });
    });

  webhook
    .command('deliveries <id>')
    .description('an endpoint\'s latest deliveries, newest first')
    .option('--failed', 'only those given up (redeliverable)')
    .option('--pending', 'only those still owed')
    .option('--limit <n>', 'at most this many (1-1000)', '100')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { failed?: boolean; pending?: boolean; limit: string; json?: boolean }) => {
      if (opts.failed && opts.pending) throw new CliError('--failed and --pending are mutually exclusive', 2);
      const limit = integer('--limit', opts.limit, 100, 1, 1000);
      await withDatabase(io, async ({ db }) => {
        const row = await requireEndpoint(db, id);
        const state = opts.failed ? 'failed' as const : opts.pending ? 'pending' as const : undefined;
        const deliveries = (await listDeliveries(db, row.id, { ...(state ? { state } : {}), limit })).map(describeDelivery);
        if (opts.json) return printJson(io, deliveries);
        if (deliveries.length === 0) return io.out(`No ${state ?? ''}${state ? ' ' : ''}deliveries.`);
        for (const d of deliveries) {
          const outcome = d.state === 'delivered' ? `delivered ${d.deliveredAt}` : `${d.lastStatus ?? ''}${d.lastError ? ` ${d.lastError}` : ''}${d.state === 'pending' ? ` (next attempt ${d.nextAttemptAt})` : ''}`.trim();
          io.out(`${d.state}\t${d.tenant.name ?? '-'}\t${d.sequence ?? '-'}\t${d.type ?? '(event pruned)'}\t${d.eventId ?? '-'}\tattempts ${d.attempts}\t${outcome}`);
        }
      });
    });

  webhook
    .command('redeliver <id>')
    .description('queue the endpoint\'s failed (given up) deliveries again, with a fresh retry period')
    .option('--event <eventId...>', 'only the deliveries of these events (default: every failed one)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { event?: string[]; json?: boolean }) => {
      const events = opts.event?.flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean);
      const bad = events?.find((e) => !UUID.test(e));
      if (bad !== undefined) throw new CliError(`"${bad}" is not an event id (the envelope's "id", the webhook-id header)`, 2);
      await withDatabase(io, async (database, config) => {
        const row = await requireEndpoint(database.db, id);
        // The delivery job of a disabled endpoint gives up whatever is pending at once.
        if (!row.enabled) throw new CliError(`webhook endpoint ${id} is disabled${row.disabled_reason ? ` (${row.disabled_reason})` : ''}: provisio webhook update ${id} --enable first`);
        const again = await withWebhookQueue(io, database, config, (queue) => database.db.transaction().execute(async (trx) => {
          const subjects = await redeliverFailed(trx, row.id, events);
          // The worker looks at a subject's deliveries when a job for it runs (else only the server's sweep, a minute or
          // more later, finds them): one job per subject, in the same transaction.
          await queue.enqueue(trx, subjects.map((s) => ({ endpointId: row.id, tenantId: s.tenantId, subject: s.subject })));
          return subjects;
        }));
        const count = again.reduce((n, s) => n + s.count, 0);
        if (opts.json) return printJson(io, { queued: count, subjects: again.length });
        if (count === 0) return io.out(events ? 'None of those events has a failed delivery to this endpoint.' : 'No failed deliveries.');
        io.out(`${count} delivery(ies) queued again (${again.length} user(s)/group(s)); a server's delivery worker sends them, oldest first per user or group.`);
        if (!config.events.deliver) io.out('  This configuration has WEBHOOKS=off: a server with webhooks on must run to send them.');
      });
    });

  program
    .command('events <tenant>')
    .description('a tenant\'s events after a sequence number, oldest first (replay by pull)')
    .option('--after <n>', 'the last sequence number already processed (default 0: from the oldest kept)', '0')
    .option('--types <types>', 'comma-separated event types (default: all)')
    .option('--limit <n>', 'at most this many (1-1000)', '100')
    .option('--json', 'print JSON: {events, next, hasMore, oldestSequence, lastSequence}')
    .action(async (name: string, opts: { after: string; types?: string; limit: string; json?: boolean }) => {
      const after = integer('--after', opts.after, 0, 0, Number.MAX_SAFE_INTEGER);
      const limit = integer('--limit', opts.limit, 100, 1, 1000);
      const types = opts.types === undefined ? [] : eventTypes(opts.types);
      await withDatabase(io, async ({ db }) => {
        const tenant = await requireTenant(db, name);
        // As GET /v1/admin/tenants/{tenant}/events: one more than asked says whether another page is ready.
        const page = await listEvents(db, tenant.id, { after, limit: limit + 1, ...(types.length ? { types } : {}) });
        const bounds = await eventBounds(db, tenant.id);
        const hasMore = page.length > limit;
        const events = page.slice(0, limit);
        const next = events.at(-1)?.sequence ?? after;
        if (opts.json) return printJson(io, { events, next, hasMore, oldestSequence: bounds.oldest, lastSequence: bounds.last });
        if (bounds.oldest !== null && after + 1 < bounds.oldest) io.err(`Events ${after + 1}-${bounds.oldest - 1} were pruned (EVENT_RETENTION_DAYS); the oldest kept is ${bounds.oldest}.`);
        for (const e of events) io.out(`${e.sequence}\t${e.timestamp}\t${e.type}\t${eventSummary(e)}\t${e.id}`);
        io.out(hasMore ? `More: provisio events ${name} --after ${next}` : `No more for now; poll again with --after ${next}.`);
      });
    });
}
