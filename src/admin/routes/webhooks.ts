import type { FastifyBaseLogger } from 'fastify';
import type { Kysely, Transaction } from 'kysely';
import { EVENT_TYPES, eventBounds, listEvents } from '../../db/events.js';
import type { Database, TenantRow } from '../../db/schema.js';
import { findTenantByName } from '../../db/tenants.js';
import {
  deleteWebhookEndpoint, deliveryCounts, findWebhookEndpoint, listDeliveries, listWebhookEndpoints, redeliverFailed,
  type WebhookEndpointRow,
} from '../../db/webhooks.js';
import { changeEndpoint, createEndpoint, describeDelivery, describeEndpoint, EndpointError, rotateSecret } from '../../events/endpoints.js';
import { recordAudit } from '../audit.js';
import { requireOperator, type AdminPrincipal } from '../auth.js';
import { AdminError } from '../errors.js';
import { SECURITY, type AdminRoutes } from '../plugin.js';
import { commonErrors, tenantParams } from '../schemas.js';

const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const nullableInt = { type: ['integer', 'null'] } as const;
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const eventSchema = {
  type: 'object',
  additionalProperties: true,
  description: 'An event as a webhook delivers it (the same JSON by pull and by push)',
  properties: {
    id: { type: 'string', description: 'Unique per event; the `webhook-id` of its deliveries' },
    type: str,
    timestamp: { type: 'string', format: 'date-time', description: 'When the change was made' },
    tenant: { type: 'object', properties: { id: str, name: str } },
    sequence: { type: 'integer', description: 'Per tenant, increasing in commit order, never reused: the pull cursor' },
    data: { type: 'object', additionalProperties: true },
  },
} as const;

const endpointSchema = {
  type: 'object',
  additionalProperties: true,
  description: 'A webhook endpoint as listed: never a signing secret, only when each was made and when a rotated one ends',
  properties: {
    id: str, tenantId: { ...nullableStr, description: 'null: every tenant\'s events' }, url: str, description: nullableStr,
    eventTypes: { type: 'array', items: str, description: 'Empty: every event type' },
    status: { type: 'string', enum: ['enabled', 'failing', 'disabled'] },
    disabledReason: str,
    failingSince: { ...nullableDateTime, description: 'Since when no attempt has succeeded' },
    lastSuccessAt: nullableDateTime,
    secrets: { type: 'array', items: { type: 'object', properties: { createdAt: str, expiresAt: str } } },
    pending: { type: 'integer', description: 'Deliveries waiting or being retried' },
    failed: { type: 'integer', description: 'Deliveries given up (redeliver them with POST …/redeliver)' },
    createdAt: str,
  },
} as const;

const deliverySchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    eventId: { ...nullableStr, description: 'null once the event was pruned (EVENT_RETENTION_DAYS)' },
    type: nullableStr,
    sequence: nullableInt,
    tenant: { type: 'object', properties: { id: str, name: nullableStr } },
    state: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    attempts: { type: 'integer' },
    lastStatus: { ...nullableInt, description: 'The receiver\'s last HTTP status; null when no answer came' },
    lastError: nullableStr,
    nextAttemptAt: str,
    createdAt: str,
    deliveredAt: nullableDateTime,
  },
} as const;

const endpointParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } } as const;
const eventTypes = {
  type: 'array', maxItems: EVENT_TYPES.length, items: { type: 'string', maxLength: 100 },
  description: `Only these event types (empty or omitted: all): ${EVENT_TYPES.join(', ')}`,
} as const;
const url = { type: 'string', maxLength: 2000, description: 'https; plain http only for localhost or with WEBHOOK_ALLOW_HTTP; no private address unless in WEBHOOK_ALLOWED_NETWORKS' } as const;
const description = { type: ['string', 'null'], maxLength: 500 } as const;
const oneEndpoint = { type: 'object', properties: { endpoint: endpointSchema } } as const;

/** EndpointError (src/events/endpoints.ts) speaks for the caller's input: relay it with its status. */
async function asAdminErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof EndpointError)) throw err;
    if (err.status === 404) throw AdminError.notFound(err.message);
    if (err.status === 409) throw AdminError.conflict(err.message);
    throw AdminError.invalid(err.message);
  }
}


/**
 * Events out: replay by pull (any admin of the tenant) and the webhook endpoints (operator only: an
 * endpoint receives personal data, and one for every tenant crosses customers).
 */
export function registerWebhookRoutes(r: AdminRoutes): void {
  const { app, options } = r;
  const { db } = options;

  /** Tenants are named in URLs, but the CLI and the endpoint list show their ids: accept either. */
  const tenantNamed = async (nameOrId: string): Promise<TenantRow> => {
    const row = await findTenantByName(db, nameOrId)
      ?? (UUID.test(nameOrId) ? await db.selectFrom('tenants').selectAll().where('id', '=', nameOrId).executeTakeFirst() : undefined);
    if (!row) throw AdminError.notFound(`No tenant named "${nameOrId}"`);
    return row;
  };

  const endpointById = async (executor: Kysely<Database> | Transaction<Database>, id: string): Promise<WebhookEndpointRow> => {
    const row = await findWebhookEndpoint(executor, id);
    if (!row) throw AdminError.notFound(`No webhook endpoint ${id}`);
    return row;
  };

  /**
   * A tenant's endpoint is audited in that tenant's trail, in the write's transaction. The audit trail is
   * per tenant, so a change to an endpoint for every tenant is recorded in the log instead.
   */
  const audit = async (
    trx: Transaction<Database>, log: FastifyBaseLogger, principal: AdminPrincipal, tenantIds: readonly (string | null)[],
    action: string, endpointId: string, detail: Record<string, unknown> = {},
  ): Promise<void> => {
    for (const tenantId of new Set(tenantIds)) {
      if (tenantId) await recordAudit(trx, tenantId, principal, action, endpointId, detail);
      else log.info({ action, endpointId, actor: principal.actor, ...detail }, 'webhook endpoint for every tenant changed');
    }
  };

  app.get('/tenants/:tenant/events', {
    schema: {
      tags: ['events'], summary: 'The tenant\'s events after a sequence number, oldest first (replay by pull)', security: SECURITY, params: tenantParams,
      description: 'Poll with `after` set to the `next` of the previous answer; `hasMore` says another page is ready now. '
        + 'Events are numbered within about a second of their change and kept EVENT_RETENTION_DAYS: an `after` below `oldestSequence` - 1 has missed events.',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          after: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, description: 'The last sequence number already seen' },
          types: { type: 'string', maxLength: 1000, description: `Comma-separated event types (default: all): ${EVENT_TYPES.join(', ')}` },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            events: { type: 'array', items: eventSchema },
            next: { type: 'integer', description: 'The `after` of the next poll: the last sequence in this page, or `after` when it is empty' },
            hasMore: { type: 'boolean' },
            oldestSequence: { ...nullableInt, description: 'The oldest sequence still kept; null when none is' },
            lastSequence: { type: 'integer', description: 'The last sequence given in the tenant (0: none yet)' },
          },
        },
        ...commonErrors,
      },
    },
  }, async (request) => {
    const row = await r.tenant(request);
    const query = request.query as { after: number; types?: string; limit: number };
    const types = [...new Set((query.types ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''))];
    const unknown = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0) throw AdminError.invalid(`types: unknown event type(s) ${unknown.join(', ')}; known: ${EVENT_TYPES.join(', ')}`);
    // One more than asked tells whether another page is ready.
    const [page, bounds] = await Promise.all([
      listEvents(db, row.id, { after: query.after, limit: query.limit + 1, ...(types.length > 0 ? { types } : {}) }),
      eventBounds(db, row.id),
    ]);
    const events = page.slice(0, query.limit);
    return { events, next: events.at(-1)?.sequence ?? query.after, hasMore: page.length > query.limit, oldestSequence: bounds.oldest, lastSequence: bounds.last };
  });

  app.post('/webhook-endpoints', {
    schema: {
      tags: ['webhooks'], summary: 'Create a webhook endpoint (operator; the signing secret is shown once)', security: SECURITY,
      description: 'Deliveries are signed as Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the `whsec_…` secret. '
        + 'Needs PROVISIO_ENCRYPTION_KEY, which seals the secret at rest (409 without it).',
      body: {
        type: 'object', additionalProperties: false, required: ['url'],
        properties: {
          url,
          tenant: { type: 'string', maxLength: 63, description: 'Only this tenant\'s events (its name or id); omit for every tenant\'s' },
          eventTypes, description,
        },
      },
      response: { 201: { type: 'object', properties: { endpoint: endpointSchema, secret: { type: 'string', description: 'Shown once; stored sealed' } } }, ...commonErrors },
    },
  }, async (request, reply) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const body = request.body as { url: string; tenant?: string; eventTypes?: string[]; description?: string | null };
    const tenant = body.tenant !== undefined ? await tenantNamed(body.tenant) : undefined;
    const created = await asAdminErrors(() => db.transaction().execute(async (trx) => {
      const made = await createEndpoint(trx, options.secrets, options.destinations, {
        url: body.url,
        ...(tenant ? { tenantId: tenant.id } : {}),
        ...(body.eventTypes ? { eventTypes: body.eventTypes } : {}),
        ...(body.description ? { description: body.description } : {}),
      });
      await audit(trx, request.log, principal, [made.endpoint.tenant_id], 'webhook-endpoint.create', made.endpoint.id, { url: made.endpoint.url, eventTypes: made.endpoint.event_types });
      return made;
    }));
    return reply.code(201).send({ endpoint: describeEndpoint(created.endpoint, { pending: 0, failed: 0 }), secret: created.secret });
  });

  app.get('/webhook-endpoints', {
    schema: {
      tags: ['webhooks'], summary: 'List webhook endpoints with their pending and failed deliveries (operator)', security: SECURITY,
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { tenant: { type: 'string', maxLength: 63, description: 'Those that receive this tenant\'s events: its own and those for every tenant' } },
      },
      response: { 200: { type: 'object', properties: { endpoints: { type: 'array', items: endpointSchema } } }, ...commonErrors },
    },
  }, async (request) => {
    requireOperator(r.principal(request));
    const { tenant } = request.query as { tenant?: string };
    const tenantId = tenant !== undefined ? (await tenantNamed(tenant)).id : undefined;
    const rows = await listWebhookEndpoints(db, tenantId ? { tenantId, includeGlobal: true } : {});
    const counts = await deliveryCounts(db, rows.map((row) => row.id));
    return { endpoints: rows.map((row) => describeEndpoint(row, counts.get(row.id) ?? { pending: 0, failed: 0 })) };
  });

  app.get('/webhook-endpoints/:id', {
    schema: {
      tags: ['webhooks'], summary: 'One webhook endpoint (operator)', security: SECURITY, params: endpointParams,
      response: { 200: oneEndpoint, ...commonErrors },
    },
  }, async (request) => {
    requireOperator(r.principal(request));
    const { id } = request.params as { id: string };
    const row = await endpointById(db, id);
    const counts = await deliveryCounts(db, [id]);
    return { endpoint: describeEndpoint(row, counts.get(id) ?? { pending: 0, failed: 0 }) };
  });

  app.patch('/webhook-endpoints/:id', {
    schema: {
      tags: ['webhooks'], summary: 'Change a webhook endpoint, or disable and enable it (operator)', security: SECURITY, params: endpointParams,
      description: 'Disabling stops new deliveries to it; enabling also forgets its failure streak (an endpoint failing for WEBHOOK_DISABLE_AFTER_HOURS is disabled by the server).',
      body: { type: 'object', additionalProperties: false, properties: { url, description, eventTypes, enabled: { type: 'boolean' } } },
      response: { 200: oneEndpoint, ...commonErrors },
    },
  }, async (request) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const { id } = request.params as { id: string };
    const changes = request.body as { url?: string; description?: string | null; eventTypes?: string[]; enabled?: boolean };
    const updated = await asAdminErrors(() => db.transaction().execute(async (trx) => {
      const row = await changeEndpoint(trx, options.destinations, id, changes);
      await audit(trx, request.log, principal, [row.tenant_id], 'webhook-endpoint.change', id, { changed: Object.keys(changes), ...(changes.enabled !== undefined ? { enabled: changes.enabled } : {}) });
      return row;
    }));
    const counts = await deliveryCounts(db, [id]);
    return { endpoint: describeEndpoint(updated, counts.get(id) ?? { pending: 0, failed: 0 }) };
  });

  app.delete('/webhook-endpoints/:id', {
    schema: {
      tags: ['webhooks'], summary: 'Delete a webhook endpoint and its deliveries (operator)', security: SECURITY, params: endpointParams,
      response: { 204: { type: 'null', description: 'Deleted' }, ...commonErrors },
    },
  }, async (request, reply) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const { id } = request.params as { id: string };
    await db.transaction().execute(async (trx) => {
      const row = await endpointById(trx, id);
      await deleteWebhookEndpoint(trx, id);
      await audit(trx, request.log, principal, [row.tenant_id], 'webhook-endpoint.delete', id, { url: row.url });
    });
    return reply.code(204).send();
  });

  app.post('/webhook-endpoints/:id/rotate-secret', {
    schema: {
      tags: ['webhooks'], summary: 'Issue a new signing secret (operator; shown once)', security: SECURITY, params: endpointParams,
      description: 'During the overlap every delivery carries one signature per secret, so the receiver can switch to the new secret at its own pace; 0 ends the previous secrets at once.',
      body: {
        type: ['object', 'null'], additionalProperties: false,
        properties: { overlapSeconds: { type: 'integer', minimum: 0, maximum: 604_800, description: 'How long the previous secrets keep signing (default 86400: a day)' } },
      },
      response: {
        200: {
          type: 'object',
          properties: { secret: { type: 'string', description: 'Shown once; stored sealed' }, previousSecretsExpireAt: { type: 'string', format: 'date-time' }, endpoint: endpointSchema },
        },
        ...commonErrors,
      },
    },
  }, async (request) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const { id } = request.params as { id: string };
    const overlapSeconds = (request.body as { overlapSeconds?: number } | null)?.overlapSeconds ?? 86_400;
    const rotated = await asAdminErrors(() => db.transaction().execute(async (trx) => {
      const result = await rotateSecret(trx, options.secrets, id, overlapSeconds);
      await audit(trx, request.log, principal, [result.endpoint.tenant_id], 'webhook-endpoint.rotate-secret', id, { overlapSeconds });
      return result;
    }));
    return { secret: rotated.secret, previousSecretsExpireAt: rotated.previousExpireAt.toISOString(), endpoint: describeEndpoint(rotated.endpoint) };
  });

  app.get('/webhook-endpoints/:id/deliveries', {
    schema: {
      tags: ['webhooks'], summary: 'The endpoint\'s latest deliveries, newest first (operator)', security: SECURITY, params: endpointParams,
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { state: { type: 'string', enum: ['pending', 'delivered', 'failed'] }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
      },
      response: { 200: { type: 'object', properties: { deliveries: { type: 'array', items: deliverySchema } } }, ...commonErrors },
    },
  }, async (request) => {
    requireOperator(r.principal(request));
    const { id } = request.params as { id: string };
    const query = request.query as { state?: 'pending' | 'delivered' | 'failed'; limit: number };
    await endpointById(db, id);
    const deliveries = await listDeliveries(db, id, { limit: query.limit, ...(query.state ? { state: query.state } : {}) });
    return { deliveries: deliveries.map(describeDelivery) };
  });

  app.post('/webhook-endpoints/:id/redeliver', {
    schema: {
      tags: ['webhooks'], summary: 'Deliver failed deliveries again (operator)', security: SECURITY, params: endpointParams,
      description: 'Failed deliveries (all, or those of `eventIds`) get a fresh retry period, in sequence order per user or group; the replicas that deliver send them. 409 while the endpoint is disabled.',
      body: {
        type: ['object', 'null'], additionalProperties: false,
        properties: { eventIds: { type: 'array', maxItems: 1000, items: { type: 'string', format: 'uuid' }, description: 'Only the deliveries of these events (their `id`)' } },
      },
      response: { 200: { type: 'object', properties: { queued: { type: 'integer', description: 'Deliveries made pending again' } } }, ...commonErrors },
    },
  }, async (request) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const { id } = request.params as { id: string };
    const queue = options.webhooks?.queue;
    // Pending deliveries nobody queues would wait for the sweep (src/events/runtime.ts).
    if (!queue) throw AdminError.unavailable('The webhook queue is not running in this process: no delivery could be queued');
    const eventIds = (request.body as { eventIds?: string[] } | null)?.eventIds;
    const queued = await db.transaction().execute(async (trx) => {
      const row = await endpointById(trx, id);
      // A disabled endpoint's deliveries would be given up again at once.
      if (!row.enabled) throw AdminError.conflict(`Webhook endpoint ${id} is disabled (${row.disabled_reason ?? 'by an operator'}): enable it first (PATCH {"enabled": true})`);
      const pairs = await redeliverFailed(trx, id, eventIds);
      await queue.enqueue(trx, pairs.map((p) => ({ endpointId: id, tenantId: p.tenantId, subject: p.subject })));
      const count = pairs.reduce((sum, p) => sum + p.count, 0);
      // An endpoint for every tenant: each tenant whose deliveries went out again has it in its trail.
      const tenants = row.tenant_id ? [row.tenant_id] : pairs.map((p) => p.tenantId);
      if (count > 0) await audit(trx, request.log, principal, tenants, 'webhook-endpoint.redeliver', id, { queued: count, ...(eventIds ? { eventIds } : {}) });
      return count;
    });
    options.webhooks?.worker?.nudge();
    return { queued };
  });
}
