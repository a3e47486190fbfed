/**
 * JSON schemas of the admin API: Fastify validates requests with them and @fastify/swagger publishes
 * them as the OpenAPI description at `/docs`. Response objects allow additional properties so a field
 * added later is never silently dropped by the serializer.
 */
const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;

export const errorSchema = {
  type: 'object',
  description: 'Every error: the HTTP status, its reason phrase, a stable code and a human message',
  properties: { statusCode: { type: 'integer' }, error: str, code: str, message: str },
  required: ['statusCode', 'error', 'code', 'message'],
} as const;

/** The error responses every authenticated route can give. */
export const commonErrors = {
  400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 503: errorSchema,
} as const;

export const tenantParams = {
  type: 'object',
  properties: { tenant: { type: 'string', description: 'Tenant name (the slug in /scim/v2/<tenant>)' } },
  required: ['tenant'],
} as const;

export const tenantSchema = {
  type: 'object',
  additionalProperties: true,
  properties: { id: str, name: str, displayName: str, createdAt: dateTime, scimBaseUrl: str },
} as const;

export const scimTokenSchema = {
  type: 'object',
  additionalProperties: true,
  description: 'A SCIM token as listed: never the secret',
  properties: {
    id: str, label: str, prefix: str, scopes: { type: 'array', items: str }, createdAt: dateTime,
    expiresAt: nullableDateTime, revokedAt: nullableDateTime, lastUsedAt: nullableDateTime,
    status: { type: 'string', enum: ['active', 'expired', 'revoked'] },
  },
} as const;

export const adminTokenSchema = {
  type: 'object',
  additionalProperties: true,
  description: 'An admin API token as listed: never the secret',
  properties: {
    id: str, label: str, prefix: str, scope: { type: 'string', enum: ['operator', 'tenant'] }, tenant: nullableStr,
    createdAt: dateTime, expiresAt: nullableDateTime, revokedAt: nullableDateTime, lastUsedAt: nullableDateTime,
    status: { type: 'string', enum: ['active', 'expired', 'revoked'] },
  },
} as const;

export const setupLinkSchema = {
  type: 'object',
  additionalProperties: true,
  description: 'A customer setup link as listed: never its secret or URL',
  properties: {
    id: str, label: str, prefix: str, tenant: str,
    createdAt: dateTime, expiresAt: dateTime, revokedAt: nullableDateTime, lastUsedAt: nullableDateTime,
    status: { type: 'string', enum: ['active', 'expired', 'revoked'] },
  },
} as const;

export const expiresIn = { type: 'string', description: 'Lifetime: 90d, 12h, 30m, an ISO date, or never (default)', maxLength: 64 } as const;

export const userSummarySchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: str, userName: str, externalId: nullableStr, email: nullableStr, displayName: nullableStr,
    active: { type: 'boolean', description: 'What the IdP says' },
    sync: {
      type: ['object', 'null'], additionalProperties: true,
      properties: { status: str, auth0UserId: nullableStr, syncedAt: nullableDateTime, lastError: nullableStr },
    },
    override: {
      type: ['object', 'null'], additionalProperties: true, description: 'What an admin decided on top of the IdP',
      properties: { blocked: { type: 'boolean' }, removedFromOrg: { type: 'boolean' }, by: str, at: dateTime },
    },
  },
} as const;

const nullableInt = { type: ['integer', 'null'] } as const;

/** One Auth0 Management API call of a sync run or login decision: never an id, a body or a token. */
export const auth0CallSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    operation: { type: 'string', description: 'Method and path template, e.g. `PATCH /api/v2/users/{id}`' },
    status: { ...nullableInt, description: 'The HTTP status; null when none came back' },
    failure: { type: ['string', 'null'], enum: ['timeout', 'network', 'error', null], description: 'What happened when no HTTP status came back' },
    durationMs: { type: 'integer', description: 'Auth0\'s answer time (the wait for the rate budget excluded)' },
    atMs: { type: 'integer', description: 'When the call started, in ms after the run or decision started' },
    batchedUsers: { type: 'integer', description: 'The request was sent for this many users\' jobs at once (organization members)' },
  },
} as const;

/** One event of a user's timeline (src/db/user-timeline.ts); the fields after `status` belong to sync runs and logins. */
export const timelineEventSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    at: { ...dateTime, description: 'When it happened: a request answered, a run ended, a login decided' },
    kind: {
      type: 'string', enum: ['directory', 'admin', 'sync', 'login', 'okta'],
      description: '`directory`: a SCIM request of the IdP naming the user; `admin`: an admin action; `sync`: a sync job run (or the current sync state of a user with none recorded); `login`: a Post-Login decision; `okta`: an Okta mirror run (docs/okta-mirror.md)',
    },
    title: str,
    detail: { ...nullableStr, description: 'The SCIM error or body summary, the admin action\'s reason, a run\'s error or planned changes, a denied login\'s reason (at most 500 characters)' },
    status: { ...nullableInt, description: 'The SCIM status, for directory events' },
    outcome: { type: 'string', description: 'Sync: synced, awaiting-login, held, deleted, unbound, failed. Login: allowed, denied, provisioned (just in time), linked (SSO identity linked), failed' },
    attempt: { ...nullableInt, description: 'A sync run\'s attempt: 2 and more are the queue\'s retries' },
    durationMs: nullableInt,
    auth0UserId: nullableStr,
    retry: { type: ['string', 'null'], enum: ['queued', 'dead-letter', 'none', null], description: 'A failed run: retried by the queue, retries spent, or not retried (permanent error)' },
    organization: { type: ['object', 'null'], additionalProperties: true, properties: { id: str, name: str }, description: 'The organization a login was in' },
    connection: { ...nullableStr, description: 'The connection a login came through' },
    calls: { type: 'array', items: auth0CallSchema, description: 'The Auth0 calls made, in order: the first 15 and the last 5' },
    callsOmitted: { type: 'integer', description: 'Calls made between the kept first and last ones and not kept' },
  },
} as const;

/** An object whose shape is documented in docs/ rather than here (binding, rules, explanations). */
export const looseObject = { type: 'object', additionalProperties: true } as const;
