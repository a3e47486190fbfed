import { listScimRequests, scimRequestStats, type ScimRequestRecord } from '../../db/scim-requests.js';
import { SECURITY, type AdminRoutes } from '../plugin.js';
import { commonErrors, tenantParams } from '../schemas.js';

const nullableStr = { type: ['string', 'null'] } as const;
const nullableInt = { type: ['integer', 'null'] } as const;
/** A request id as a cursor: a PostgreSQL bigint in decimal (18 digits keep it inside its range). */
const cursor = { type: 'string', pattern: '^[0-9]{1,18}$' } as const;

const scimRequestSchema = {
  type: 'object',
  additionalProperties: true,
  description: 'One SCIM request as recorded; bodies only as a redacted summary',
  properties: {
    id: { type: 'string', description: 'Monotonic; the paging and polling cursor' },
    at: { type: 'string', format: 'date-time', description: 'When the response was sent' },
    tokenId: { ...nullableStr, description: 'The SCIM token used; null when authentication failed' },
    sourceIp: nullableStr,
    method: nullableStr,
    path: { ...nullableStr, description: 'Path and query string, at most 512 characters' },
    status: nullableInt,
    latencyMs: { type: ['number', 'null'] },
    dialect: { ...nullableStr, description: 'The IdP dialect the request was read in: entra, okta, generic…' },
    resourceType: { ...nullableStr, description: 'User, Group, Bulk, Schemas, ResourceTypes, ServiceProviderConfig' },
    resourceId: nullableStr,
    scimType: nullableStr,
    errorDetail: { ...nullableStr, description: 'The SCIM error detail sent, at most 1,000 characters' },
    summary: { ...nullableStr, description: 'Writes: attribute names, identifying values and counts, never secrets' },
    requests: { type: 'integer', description: 'How many requests the row stands for: 1, or the successful reads over SCIM_AUDIT_READS_PER_SECOND counted in one row' },
  },
} as const;

function requestInfo(r: ScimRequestRecord) {
  return { ...r, at: r.at.toISOString() };
}

/** The SCIM request audit trail of a tenant (src/scim/audit-trail.ts): the console's live panel and tenant page. */
export function registerScimRequestRoutes(r: AdminRoutes): void {
  const { app, options } = r;
  const { db } = options;

  app.get('/tenants/:tenant/scim-requests', {
    schema: {
      tags: ['scim requests'], summary: 'The SCIM requests the tenant received, newest first, or those after a cursor', security: SECURITY, params: tenantParams,
      description: 'Without `after`: newest first; `next` is the cursor for older entries (pass it as `before`), null at the end. '
        + 'With `after`: oldest first from after that id, for polling; `next` is the last id returned, or `after` itself when nothing is new. '
        + 'Requests are written in batches, within about a second. Kept for SCIM_AUDIT_RETENTION_DAYS.',
      querystring: {
        type: 'object',
        properties: {
          limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
          before: cursor,
          after: cursor,
          errors: { type: 'boolean', description: 'Only answers with status 400 or above' },
        },
      },
      response: {
        200: { type: 'object', properties: { requests: { type: 'array', items: scimRequestSchema }, next: nullableStr } },
        ...commonErrors,
      },
    },
  }, async (request) => {
    const row = await r.tenant(request);
    const query = request.query as { limit: number; before?: string; after?: string; errors?: boolean };
    const polling = query.after !== undefined;
    // One more than asked tells whether an older page exists.
    const rows = await listScimRequests(db, row.id, {
      limit: polling ? query.limit : query.limit + 1,
      ...(query.before !== undefined ? { before: query.before } : {}),
      ...(query.after !== undefined ? { after: query.after } : {}),
      errorsOnly: query.errors === true,
    });
    if (polling) return { requests: rows.map(requestInfo), next: rows.at(-1)?.id ?? query.after };
    const page = rows.slice(0, query.limit);
    return { requests: page.map(requestInfo), next: rows.length > query.limit ? page.at(-1)!.id : null };
  });

  app.get('/tenants/:tenant/scim-requests/stats', {
    schema: {
      tags: ['scim requests'], summary: 'Requests and errors of the last hours, per minute', security: SECURITY, params: tenantParams,
      description: '`perMinute` lists only minutes with requests, oldest first; `errors` counts answers with status 400 or above; `lastAt` is the newest request kept, inside the window or not.',
      querystring: { type: 'object', properties: { hours: { type: 'integer', minimum: 1, maximum: 168, default: 24 } } },
      response: {
        200: {
          type: 'object',
          properties: {
            total: { type: 'integer' }, errors: { type: 'integer' }, lastAt: { type: ['string', 'null'], format: 'date-time' },
            perMinute: {
              type: 'array',
              items: { type: 'object', properties: { minute: { type: 'string', format: 'date-time' }, requests: { type: 'integer' }, errors: { type: 'integer' } } },
            },
          },
        },
        ...commonErrors,
      },
    },
  }, async (request) => {
    const row = await r.tenant(request);
    const { hours } = request.query as { hours: number };
    // A window not starting on a minute touches one minute more than it has.
    const stats = await scimRequestStats(db, row.id, new Date(Date.now() - hours * 3_600_000), hours * 60 + 1);
    return {
      total: stats.total,
      errors: stats.errors,
      lastAt: stats.lastAt?.toISOString() ?? null,
      perMinute: stats.perMinute.map((b) => ({ minute: b.minute.toISOString(), requests: b.requests, errors: b.errors })),
    };
  });
}
