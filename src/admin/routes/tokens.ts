import * as repo from '../../db/tokens.js';
import { recordAudit } from '../audit.js';
import { AdminError } from '../errors.js';
import { SECURITY, type AdminRoutes } from '../plugin.js';
import { commonErrors, expiresIn, scimTokenSchema, tenantParams } from '../schemas.js';
import { issueToken, parseExpiry, tokenInfo } from '../tokens.js';

const tokenParams = {
  type: 'object', required: ['tenant', 'id'],
  properties: { ...tenantParams.properties, id: { type: 'string', format: 'uuid' } },
} as const;

const issueBody = {
  type: ['object', 'null'], additionalProperties: false,
  properties: {
    label: { type: 'string', minLength: 1, maxLength: 100 },
    scopes: { type: 'array', items: { type: 'string' }, description: 'users:read, users:write, groups:read, groups:write (default: all)' },
    expiresIn,
  },
} as const;

const issued = { type: 'object', properties: { token: { type: 'string', description: 'Shown once; only its SHA-256 is stored' }, tokenInfo: scimTokenSchema, previous: scimTokenSchema } } as const;

/** SCIM bearer tokens of a tenant: an org admin issues, rotates and revokes the tokens of their own IdP. */
export function registerTokenRoutes(r: AdminRoutes): void {
  const { app, options } = r;
  const { db } = options;

  app.get('/tenants/:tenant/scim-tokens', {
    schema: { tags: ['scim tokens'], summary: 'List SCIM tokens (never their secrets)', security: SECURITY, params: tenantParams, response: { 200: { type: 'object', properties: { tokens: { type: 'array', items: scimTokenSchema } } }, ...commonErrors } },
  }, async (request) => {
    const row = await r.tenant(request);
    return { tokens: (await repo.listTokens(db, row.id)).map((t) => tokenInfo(t)) };
  });

  app.post('/tenants/:tenant/scim-tokens', {
    schema: { tags: ['scim tokens'], summary: 'Issue a SCIM token (shown once)', security: SECURITY, params: tenantParams, body: issueBody, response: { 201: issued, ...commonErrors } },
  }, async (request, reply) => {
    const principal = r.principal(request);
    const row = await r.tenant(request);
    const body = (request.body ?? {}) as { label?: string; scopes?: string[]; expiresIn?: string };
    const result = await db.transaction().execute(async (trx) => {
      const token = await issueToken(trx, row.id, body);
      await recordAudit(trx, row.id, principal, 'scim-token.issue', token.info.id, { label: token.info.label, scopes: token.info.scopes });
      return token;
    });
    return reply.code(201).send({ token: result.token, tokenInfo: result.info });
  });

  app.post('/tenants/:tenant/scim-tokens/:id/rotate', {
    schema: {
      tags: ['scim tokens'], summary: 'Issue a replacement with the same label and scopes, and end the old token', security: SECURITY, params: tokenParams,
      description: '`overlap` keeps the old token working for a while (e.g. 1h) so the IdP can be switched without a failed cycle; without it the old token is revoked at once.',
      body: { type: ['object', 'null'], additionalProperties: false, properties: { overlap: { type: 'string', pattern: '^\\d+\\s*[dhm]$', description: '30m, 12h, 7d' }, expiresIn } },
      response: { 201: issued, ...commonErrors },
    },
  }, async (request, reply) => {
    const principal = r.principal(request);
    const row = await r.tenant(request);
    const { id } = request.params as { id: string };
    const body = (request.body ?? {}) as { overlap?: string; expiresIn?: string };
    const result = await db.transaction().execute(async (trx) => {
      const old = await repo.findToken(trx, row.id, id);
      if (!old) throw AdminError.notFound(`Tenant "${row.name}" has no SCIM token ${id}`);
      if (old.revoked_at) throw AdminError.conflict(`SCIM token ${id} is already revoked; issue a new one instead`);
      const token = await issueToken(trx, row.id, { label: old.label, scopes: old.scopes, ...(body.expiresIn ? { expiresIn: body.expiresIn } : {}) });
      const ended = body.overlap
        ? await repo.expireTokenBy(trx, row.id, id, parseExpiry(body.overlap) ?? new Date())
        : await repo.revokeToken(trx, row.id, id);
      await recordAudit(trx, row.id, principal, 'scim-token.rotate', id, { replacement: token.info.id, overlap: body.overlap ?? null });
      return { token, previous: ended ?? old };
    });
    if (!body.overlap) options.scimTokens?.invalidate();
    return reply.code(201).send({ token: result.token.token, tokenInfo: result.token.info, previous: tokenInfo(result.previous) });
  });

  app.delete('/tenants/:tenant/scim-tokens/:id', {
    schema: { tags: ['scim tokens'], summary: 'Revoke a SCIM token (idempotent)', security: SECURITY, params: tokenParams, response: { 200: { type: 'object', properties: { tokenInfo: scimTokenSchema } }, ...commonErrors } },
  }, async (request) => {
    const principal = r.principal(request);
    const row = await r.tenant(request);
    const { id } = request.params as { id: string };
    const revoked = await db.transaction().execute(async (trx) => {
      const token = await repo.revokeToken(trx, row.id, id);
      if (!token) throw AdminError.notFound(`Tenant "${row.name}" has no SCIM token ${id}`);
      await recordAudit(trx, row.id, principal, 'scim-token.revoke', id);
      return token;
    });
    // This process stops accepting it now; other replicas within SCIM_TOKEN_CACHE_MS.
    options.scimTokens?.invalidate();
    return { tokenInfo: tokenInfo(revoked) };
  });
}
