import { SCIM_DIALECTS } from '../../scim/compat/dialect.js';
import { deleteTenant, directoryCounts, listTenants, setTenantSetting, updateTenantDisplayName } from '../../db/tenants.js';
import { findSyncConfig } from '../../db/sync.js';
import { tenantHealthPage } from '../../db/tenant-health.js';
import { bindTenant } from '../../sync/binding.js';
import { parseSyncConfig, type SyncConfig } from '../../sync/config.js';
import { auditAfterCommit, recordAudit } from '../audit.js';
import { requireOperator } from '../auth.js';
import { AdminError } from '../errors.js';
import { SECURITY, type AdminRoutes } from '../plugin.js';
import { commonErrors, expiresIn, looseObject, scimTokenSchema, tenantParams, tenantSchema } from '../schemas.js';
import { createTenant, scimBaseUrl, tenantInfo } from '../tenants.js';
import { tenantSyncStatus } from '../user-status.js';

/** The binding as shown to callers: sealed inbound SCIM tokens are never sent back. */
function redactBinding(config: SyncConfig): Record<string, unknown> {
  return {
    binding: {
      ...config.binding,
      connections: config.binding.connections.map(({ scim, ...c }) => (scim ? { ...c, scim: { url: scim.url, tokenStored: true } } : c)),
    },
    rules: config.rules,
    guard: config.guard,
  };
}

export function registerTenantRoutes(r: AdminRoutes): void {
  const { app, options } = r;
  const { db } = options;

  app.get('/me', {
    schema: {
      tags: ['session'], summary: 'Who the credential is and what it may reach', security: SECURITY,
      response: { 200: { type: 'object', properties: { kind: { type: 'string', enum: ['operator', 'org-admin'] }, tenant: { type: ['string', 'null'] }, actor: { type: 'string' } } }, ...commonErrors },
    },
  }, async (request) => {
    const p = r.principal(request);
    return { kind: p.kind, tenant: p.kind === 'org-admin' ? p.tenantName : null, actor: p.actor };
  });

  app.get('/tenants', {
    schema: { tags: ['tenants'], summary: 'List tenants (operator)', security: SECURITY, response: { 200: { type: 'object', properties: { tenants: { type: 'array', items: tenantSchema } } }, ...commonErrors } },
  }, async (request) => {
    requireOperator(r.principal(request));
    const origin = r.origin(request);
    return { tenants: (await listTenants(db)).map((row) => ({ ...tenantInfo(row), scimBaseUrl: scimBaseUrl(origin, row.name) })) };
  });

  // Not under /tenants/: a tenant may be named "health".
  app.get('/tenant-health', {
    schema: {
      tags: ['tenants'], summary: 'Every tenant at a glance, a page at a time (operator)', security: SECURITY,
      description: 'What the console\'s tenant list shows, in one request per page instead of two per tenant: directory size, users by sync status, '
        + 'held deprovisions, the oldest change still waiting for Auth0, and the SCIM requests and refusals of the last `hours`. Pages go by tenant name.',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          after: { type: 'string', maxLength: 63, description: '`next` of the previous page' },
          limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
          hours: { type: 'integer', minimum: 1, maximum: 168, default: 24 },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            tenants: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'string' }, name: { type: 'string' }, displayName: { type: 'string' }, bound: { type: 'boolean' },
                  users: { type: 'integer' }, groups: { type: 'integer' },
                  sync: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Users by sync status' },
                  held: { type: 'integer' },
                  oldestPendingAt: { type: ['string', 'null'], format: 'date-time', description: 'The oldest change not yet in Auth0' },
                  requests: { type: 'integer' }, errors: { type: 'integer', description: 'Requests answered 400 or more' },
                  lastRequestAt: { type: ['string', 'null'], format: 'date-time' },
                },
              },
            },
            next: { type: ['string', 'null'] },
          },
        },
        ...commonErrors,
      },
    },
  }, async (request) => {
    requireOperator(r.principal(request));
    const query = request.query as { after?: string; limit: number; hours: number };
    const page = await tenantHealthPage(db, { ...(query.after ? { after: query.after } : {}), limit: query.limit, since: new Date(Date.now() - query.hours * 3_600_000) });
    return {
      tenants: page.tenants.map((t) => ({ ...t, oldestPendingAt: t.oldestPendingAt?.toISOString() ?? null, lastRequestAt: t.lastRequestAt?.toISOString() ?? null })),
      next: page.next,
    };
  });

  app.post('/tenants', {
    schema: {
      tags: ['tenants'], summary: 'Create a tenant and its first SCIM token (shown once) (operator)', security: SECURITY,
      body: {
        type: 'object', additionalProperties: false, required: ['name'],
        properties: {
          name: { type: 'string', description: 'URL slug: 1-63 lower-case letters, digits or dashes' },
          displayName: { type: 'string', minLength: 1, maxLength: 200 },
          token: {
            type: 'object', additionalProperties: false,
            properties: { label: { type: 'string', minLength: 1, maxLength: 100 }, scopes: { type: 'array', items: { type: 'string' } }, expiresIn },
          },
        },
      },
      response: { 201: { type: 'object', properties: { tenant: tenantSchema, scimBaseUrl: { type: 'string' }, token: { type: 'string', description: 'Shown once' }, tokenInfo: scimTokenSchema } }, ...commonErrors },
    },
  }, async (request, reply) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const body = request.body as { name: string; displayName?: string; token?: { label?: string; scopes?: string[]; expiresIn?: string } };
    const created = await createTenant(db, { name: body.name, ...(body.displayName ? { displayName: body.displayName } : {}), token: { label: 'initial', ...body.token } });
    await auditAfterCommit(db, request.log, created.tenant.id, principal, 'tenant.create', created.tenant.name);
    return reply.code(201).send({ tenant: created.tenant, scimBaseUrl: scimBaseUrl(r.origin(request), created.tenant.name), token: created.token, tokenInfo: created.tokenInfo });
  });

  app.get('/tenants/:tenant', {
    schema: {
      tags: ['tenants'], summary: 'One tenant with its directory and sync counts', security: SECURITY, params: tenantParams,
      response: {
        200: {
          type: 'object',
          properties: {
            tenant: tenantSchema, bound: { type: 'boolean' }, sync: looseObject,
            directory: { type: 'object', description: 'Users and groups the IdP has provisioned', properties: { users: { type: 'integer' }, groups: { type: 'integer' } } },
          },
        },
        ...commonErrors,
      },
    },
  }, async (request) => {
    const row = await r.tenant(request);
    const [config, sync, directory] = await Promise.all([findSyncConfig(db, row.id), tenantSyncStatus(db, row.id), directoryCounts(db, row.id)]);
    return { tenant: { ...tenantInfo(row), scimBaseUrl: scimBaseUrl(r.origin(request), row.name) }, bound: config !== undefined, sync, directory };
  });

  app.patch('/tenants/:tenant', {
    schema: {
      tags: ['tenants'], summary: 'Change the display name or pin the IdP dialect (operator)', security: SECURITY, params: tenantParams,
      description: '`scimDialect` pins how PATCH requests are read (README "SCIM API"); `auto` recognises the IdP from each request. Running servers pick a change up within SCIM_TOKEN_CACHE_MS.',
      body: {
        type: 'object', additionalProperties: false, minProperties: 1,
        properties: { displayName: { type: 'string', minLength: 1, maxLength: 200 }, scimDialect: { type: 'string', enum: ['auto', ...SCIM_DIALECTS] } },
      },
      response: { 200: { type: 'object', properties: { tenant: tenantSchema } }, ...commonErrors },
    },
  }, async (request) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const row = await r.tenant(request);
    const body = request.body as { displayName?: string; scimDialect?: string };
    const updated = await db.transaction().execute(async (trx) => {
      let current = row;
      if (body.displayName !== undefined) current = (await updateTenantDisplayName(trx, row.id, body.displayName)) ?? current;
      if (body.scimDialect !== undefined) current = (await setTenantSetting(trx, row.id, 'scimDialect', body.scimDialect === 'auto' ? undefined : body.scimDialect)) ?? current;
      await recordAudit(trx, row.id, principal, 'tenant.update', row.name, body);
      return current;
    });
    // The SCIM verifier caches the dialect with the token.
    options.scimTokens?.invalidate();
    return { tenant: tenantInfo(updated) };
  });

  app.delete('/tenants/:tenant', {
    schema: { tags: ['tenants'], summary: 'Delete a tenant with its tokens and directory (operator; irreversible)', security: SECURITY, params: tenantParams, response: { 204: { type: 'null' }, ...commonErrors } },
  }, async (request, reply) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const row = await r.tenant(request);
    await deleteTenant(db, row.id);
    request.log.info({ tenant: row.name, actor: principal.actor }, 'tenant deleted');
    return reply.code(204).send();
  });

  app.get('/tenants/:tenant/binding', {
    schema: { tags: ['sync'], summary: 'The Auth0 binding, rules and guard (secrets omitted)', security: SECURITY, params: tenantParams, response: { 200: looseObject, ...commonErrors } },
  }, async (request) => {
    const row = await r.tenant(request);
    const stored = await findSyncConfig(db, row.id);
    if (!stored) throw AdminError.notFound(`Tenant "${row.name}" is not bound to Auth0`);
    return redactBinding(parseSyncConfig(stored));
  });

  app.put('/tenants/:tenant/binding', {
    schema: {
      tags: ['sync'], summary: 'Bind the tenant to Auth0 (or change the binding) and queue every user (operator)', security: SECURITY, params: tenantParams,
      description: 'Body as in docs/sync.md "Binding a tenant"; omitted `rules` or `guard` keep the stored ones. An inbound SCIM token must be sent again on every change; it is sealed before it is stored.',
      body: { type: 'object', additionalProperties: false, required: ['binding'], properties: { binding: looseObject, rules: looseObject, guard: looseObject } },
      response: { 200: looseObject, ...commonErrors },
    },
  }, async (request) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const row = await r.tenant(request);
    const body = request.body as { binding: unknown; rules?: unknown; guard?: unknown };
    // Omitted rules or guard keep the stored ones: changing a connection must not wipe the role rules.
    const config = await bindTenant(db, r.queue(), row.id, (stored) => ({ binding: body.binding, rules: body.rules ?? stored?.rules, guard: body.guard ?? stored?.guard }), options.secrets);
    await auditAfterCommit(db, request.log, row.id, principal, 'tenant.bind', config.binding.organization.name);
    return redactBinding(config);
  });
}
