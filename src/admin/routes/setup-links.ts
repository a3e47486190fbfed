import { listAdminTokens, revokeAdminToken } from '../../db/admin-tokens.js';
import { auditAfterCommit } from '../audit.js';
import { requireOperator } from '../auth.js';
import { AdminError } from '../errors.js';
import { SECURITY, type AdminRoutes } from '../plugin.js';
import { commonErrors, setupLinkSchema, tenantParams } from '../schemas.js';
import { createSetupLink, exchangeSignInCode, setupLinkInfo } from '../setup-links.js';

/**
 * Customer setup links (operator only: a delegated admin cannot mint more delegated sessions), and the
 * console's one-time sign-in exchange, the one admin route that takes no bearer credential.
 */
export function registerSetupLinkRoutes(r: AdminRoutes): void {
  const { app, options } = r;
  const { db } = options;

  app.get('/tenants/:tenant/setup-links', {
    schema: {
      tags: ['setup links'], summary: 'List a tenant\'s setup links (operator; never their secrets)', security: SECURITY, params: tenantParams,
      response: { 200: { type: 'object', properties: { setupLinks: { type: 'array', items: setupLinkSchema } } }, ...commonErrors },
    },
  }, async (request) => {
    requireOperator(r.principal(request));
    const row = await r.tenant(request);
    return { setupLinks: (await listAdminTokens(db, row.id, 'setup-link')).map((t) => setupLinkInfo(t)) };
  });

  app.post('/tenants/:tenant/setup-links', {
    schema: {
      tags: ['setup links'], summary: 'Create a setup link for the customer\'s IT admin (operator; the URL is shown once)', security: SECURITY, params: tenantParams,
      description: 'Opening the URL gives a delegated session for this tenant only, until the link expires or is revoked. The secret is in the URL\'s fragment, so it never reaches a server log.',
      body: {
        type: ['object', 'null'], additionalProperties: false,
        properties: {
          label: { type: 'string', minLength: 1, maxLength: 100 },
          expiresIn: { type: 'string', maxLength: 64, description: 'Lifetime: 7d (default), 48h, 30m or an ISO date; at most 90 days' },
        },
      },
      response: { 201: { type: 'object', properties: { url: { type: 'string', description: 'Shown once' }, setupLink: setupLinkSchema } }, ...commonErrors },
    },
  }, async (request, reply) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const row = await r.tenant(request);
    const body = (request.body ?? {}) as { label?: string; expiresIn?: string };
    const created = await createSetupLink(db, r.origin(request), row, body);
    await auditAfterCommit(db, request.log, row.id, principal, 'setup-link.create', created.info.id, { label: created.info.label, expiresAt: created.info.expiresAt });
    return reply.code(201).send({ url: created.url, setupLink: created.info });
  });

  app.delete('/tenants/:tenant/setup-links/:id', {
    schema: {
      tags: ['setup links'], summary: 'Revoke a setup link (operator; idempotent; effective at once)', security: SECURITY,
      params: { type: 'object', required: ['tenant', 'id'], properties: { tenant: tenantParams.properties.tenant, id: { type: 'string', format: 'uuid' } } },
      response: { 200: { type: 'object', properties: { setupLink: setupLinkSchema } }, ...commonErrors },
    },
  }, async (request) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const row = await r.tenant(request);
    const { id } = request.params as { id: string };
    const revoked = await revokeAdminToken(db, id, 'setup-link', row.id);
    if (!revoked) throw AdminError.notFound(`No setup link ${id} in tenant "${row.name}"`);
    await auditAfterCommit(db, request.log, row.id, principal, 'setup-link.revoke', id);
    return { setupLink: setupLinkInfo(revoked) };
  });

  app.post('/console/sign-in', {
    config: { public: true },
    schema: {
      tags: ['session'], summary: 'Exchange a one-time console sign-in code for an operator token (12 hours)', security: [],
      description: 'The code comes from the link the zero-config start prints (or `provisio console-link`). It works once and for an hour.',
      body: { type: 'object', additionalProperties: false, required: ['code'], properties: { code: { type: 'string', minLength: 1, maxLength: 200 } } },
      response: { 200: { type: 'object', properties: { token: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } } }, ...commonErrors },
    },
  }, async (request) => {
    const { code } = request.body as { code: string };
    const session = await exchangeSignInCode(db, code);
    if (!session) {
      options.authFailures?.failed(request.ip);
      throw AdminError.unauthorized('This sign-in link was already used or has expired. Sign in with an admin token, or print a new link: provisio console-link');
    }
    request.log.info({ actor: 'console-sign-in' }, 'console sign-in code exchanged for an operator session');
    return session;
  });
}
