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

/** An object whose shape is documented in docs/ rather than here (binding, rules, explanations). */
export const looseObject = { type: 'object', additionalProperties: true } as const;
