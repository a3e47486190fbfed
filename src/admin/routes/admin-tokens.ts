import { listAdminTokens, revokeAdminToken } from '../../db/admin-tokens.js';
import { adminTokenInfo, issueAdminToken } from '../admin-tokens.js';
import { auditAfterCommit } from '../audit.js';
import { requireOperator } from '../auth.js';
import { AdminError } from '../errors.js';
import { SECURITY, type AdminRoutes } from '../plugin.js';
import { adminTokenSchema, commonErrors, expiresIn } from '../schemas.js';
import { requireTenant } from '../tenants.js';

/** Admin API tokens (operator only): operator tokens, and delegated tokens handed to a customer's admin. */
export function registerAdminTokenRoutes(r: AdminRoutes): void {
  const { app, options } = r;
  const { db } = options;

  app.get('/admin-tokens', {
    schema: {
      tags: ['admin tokens'], summary: 'List admin tokens (never their secrets)', security: SECURITY,
      querystring: { type: 'object', additionalProperties: false, properties: { tenant: { type: 'string', description: 'Only the delegated tokens of this tenant' } } },
      response: { 200: { type: 'object', properties: { tokens: { type: 'array', items: adminTokenSchema } } }, ...commonErrors },
    },
  }, async (request) => {
    requireOperator(r.principal(request));
    const { tenant } = request.query as { tenant?: string };
    const tenantId = tenant ? (await requireTenant(db, tenant)).id : undefined;
    return { tokens: (await listAdminTokens(db, tenantId)).map((t) => adminTokenInfo(t)) };
  });

  app.post('/admin-tokens', {
    schema: {
      tags: ['admin tokens'], summary: 'Issue an admin token (shown once): operator, or delegated to one tenant', security: SECURITY,
      body: {
        type: ['object', 'null'], additionalProperties: false,
        properties: {
          label: { type: 'string', minLength: 1, maxLength: 100 },
          tenant: { type: 'string', description: 'Scope the token to this tenant (a customer\'s org admin); omit for an operator token' },
          expiresIn,
        },
      },
      response: { 201: { type: 'object', properties: { token: { type: 'string', description: 'Shown once' }, tokenInfo: adminTokenSchema } }, ...commonErrors },
    },
  }, async (request, reply) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const body = (request.body ?? {}) as { label?: string; tenant?: string; expiresIn?: string };
    const tenant = body.tenant ? await requireTenant(db, body.tenant) : undefined;
    const issued = await issueAdminToken(db, { ...(body.label ? { label: body.label } : {}), ...(tenant ? { tenant } : {}), ...(body.expiresIn ? { expiresIn: body.expiresIn } : {}) });
    if (tenant) await auditAfterCommit(db, request.log, tenant.id, principal, 'admin-token.issue', issued.info.id, { label: issued.info.label });
    request.log.info({ tokenId: issued.info.id, scope: issued.info.scope, tenant: issued.info.tenant, actor: principal.actor }, 'admin token issued');
    return reply.code(201).send({ token: issued.token, tokenInfo: issued.info });
  });

  app.delete('/admin-tokens/:id', {
    schema: {
      tags: ['admin tokens'], summary: 'Revoke an admin token (idempotent; effective at once)', security: SECURITY,
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } },
      response: { 200: { type: 'object', properties: { tokenInfo: adminTokenSchema } }, ...commonErrors },
    },
  }, async (request) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const { id } = request.params as { id: string };
    const revoked = await revokeAdminToken(db, id);
    if (!revoked) throw AdminError.notFound(`No admin token ${id}`);
    if (revoked.tenant_id) await auditAfterCommit(db, request.log, revoked.tenant_id, principal, 'admin-token.revoke', id);
    return { tokenInfo: adminTokenInfo(revoked) };
  });
}
