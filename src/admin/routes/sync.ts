import { findSyncConfig, syncLagPerMinute } from '../../db/sync.js';
import { bindTenant } from '../../sync/binding.js';
import { parseRules, parseSyncConfig } from '../../sync/config.js';
import { explainRules } from '../../sync/rules.js';
import { listAudit } from '../../db/audit.js';
import { auditAfterCommit } from '../audit.js';
import { checkDelegatedRules } from '../delegation.js';
import { requireOperator } from '../auth.js';
import { AdminError } from '../errors.js';
import { SECURITY, type AdminRoutes } from '../plugin.js';
import { commonErrors, looseObject, tenantParams } from '../schemas.js';
import { reconcileTenant, releaseHeldDeprovisions, retryFailedSyncs } from '../sync-ops.js';
import { tenantSyncStatus } from '../user-status.js';

/** Role rules, sync status, guard releases, reconciliation and the audit trail of a tenant. */
export function registerSyncRoutes(r: AdminRoutes): void {
  const { app, options } = r;
  const { db } = options;

  const notBound = (tenantName: string) => AdminError.conflict(`Tenant "${tenantName}" is not bound to Auth0 yet (PUT /v1/admin/tenants/${tenantName}/binding)`);
  const storedConfig = async (tenantId: string, tenantName: string) => {
    const stored = await findSyncConfig(db, tenantId);
    if (!stored) throw notBound(tenantName);
    return stored;
  };

  app.get('/tenants/:tenant/rules', {
    schema: { tags: ['rules'], summary: 'The group → role rules', security: SECURITY, params: tenantParams, response: { 200: looseObject, ...commonErrors } },
  }, async (request) => {
    const row = await r.tenant(request);
    return parseSyncConfig(await storedConfig(row.id, row.name)).rules;
  });

  app.put('/tenants/:tenant/rules', {
    schema: {
      tags: ['rules'], summary: 'Replace the rules; every user is re-evaluated', security: SECURITY, params: tenantParams,
      description: 'The rules document of docs/sync.md: mode, requireMappedGroup, defaultGrant, rules[]. Invalid rules are a 400 naming the field, and nothing changes. An org admin may only grant roles, tenant roles and organizations the stored rules already grant (403 otherwise); an operator sets any.',
      body: looseObject, response: { 200: looseObject, ...commonErrors },
    },
  }, async (request) => {
    const principal = r.principal(request);
    const row = await r.tenant(request);
    const next = parseRules(request.body);
    const config = await bindTenant(db, r.queue(), row.id, (stored) => {
      if (!stored) throw notBound(row.name);
      checkDelegatedRules(principal, next, parseSyncConfig(stored).rules);
      return { binding: stored.binding, rules: request.body, guard: stored.guard };
    });
    await auditAfterCommit(db, request.log, row.id, principal, 'rules.set', null, { rules: config.rules.rules.length });
    return config.rules;
  });

  app.post('/tenants/:tenant/rules/test', {
    schema: {
      tags: ['rules'], summary: 'What roles a set of groups would produce, rule by rule (changes nothing)', security: SECURITY, params: tenantParams,
      body: {
        type: 'object', additionalProperties: false, required: ['groups'],
        properties: { groups: { type: 'array', items: { type: 'string' }, description: 'Group names, ids or externalIds' }, rules: { ...looseObject, description: 'Test these rules instead of the stored ones' } },
      },
      response: { 200: looseObject, ...commonErrors },
    },
  }, async (request) => {
    const row = await r.tenant(request);
    const body = request.body as { groups: string[]; rules?: unknown };
    const rules = body.rules !== undefined ? parseRules(body.rules) : parseSyncConfig(await storedConfig(row.id, row.name)).rules;
    return explainRules(body.groups, rules);
  });

  app.get('/tenants/:tenant/sync', {
    schema: {
      tags: ['sync'], summary: 'Users by sync status and deprovisionings held by the guard', security: SECURITY, params: tenantParams,
      response: { 200: { type: 'object', properties: { counts: { type: 'object', additionalProperties: { type: 'integer' } }, held: { type: 'integer' } } }, ...commonErrors },
    },
  }, async (request) => tenantSyncStatus(db, (await r.tenant(request)).id));

  app.post('/tenants/:tenant/sync/release', {
    schema: {
      tags: ['sync'], summary: 'Confirm the deprovisionings held by the mass-deprovisioning guard', security: SECURITY, params: tenantParams,
      response: { 200: { type: 'object', properties: { released: { type: 'integer' } } }, ...commonErrors },
    },
  }, async (request) => {
    const principal = r.principal(request);
    const row = await r.tenant(request);
    const released = await releaseHeldDeprovisions(db, r.queue(), row.id);
    await auditAfterCommit(db, request.log, row.id, principal, 'sync.release', null, { released: released.length });
    return { released: released.length };
  });

  app.get('/tenants/:tenant/sync/lag', {
    schema: {
      tags: ['sync'], summary: 'Sync lag per minute over the last hours: users synced, median and longest time from change to Auth0', security: SECURITY, params: tenantParams,
      querystring: { type: 'object', additionalProperties: false, properties: { hours: { type: 'integer', minimum: 1, maximum: 168, default: 6 } } },
      response: {
        200: {
          type: 'object',
          properties: {
            perMinute: {
              type: 'array',
              items: { type: 'object', properties: { minute: { type: 'string', format: 'date-time' }, synced: { type: 'integer' }, p50Ms: { type: 'integer' }, maxMs: { type: 'integer' } } },
            },
          },
        },
        ...commonErrors,
      },
    },
  }, async (request) => {
    const row = await r.tenant(request);
    const { hours } = request.query as { hours: number };
    return { perMinute: (await syncLagPerMinute(db, row.id, hours)).map((m) => ({ ...m, minute: m.minute.toISOString() })) };
  });

  app.post('/tenants/:tenant/sync/retry', {
    schema: {
      tags: ['sync'], summary: 'Queue the users whose sync failed again (all of them, or those named)', security: SECURITY, params: tenantParams,
      description: 'A failed user stays failed until the next directory change; after fixing the cause (a missing scope, a connection setting), this retries them now with a fresh attempt count.',
      body: {
        type: ['object', 'null'], additionalProperties: false,
        properties: { userIds: { type: 'array', maxItems: 1000, items: { type: 'string', format: 'uuid' }, description: 'Only these users (those of them that failed)' } },
      },
      response: { 200: { type: 'object', properties: { retried: { type: 'integer' } } }, ...commonErrors },
    },
  }, async (request) => {
    const principal = r.principal(request);
    const row = await r.tenant(request);
    const { userIds } = (request.body ?? {}) as { userIds?: string[] };
    const retried = await retryFailedSyncs(db, r.queue(), row.id, userIds);
    await auditAfterCommit(db, request.log, row.id, principal, 'sync.retry', null, { retried: retried.length });
    return { retried: retried.length };
  });

  app.post('/tenants/:tenant/reconcile', {
    schema: {
      tags: ['sync'], summary: 'Compare Auth0 with the desired state and queue the repairs (operator: it reads every user from Auth0)', security: SECURITY, params: tenantParams,
      body: { type: ['object', 'null'], additionalProperties: false, properties: { dryRun: { type: 'boolean', default: false } } },
      response: { 200: { type: 'object', properties: { dryRun: { type: 'boolean' }, drift: { type: 'array', items: looseObject } } }, ...commonErrors },
    },
  }, async (request) => {
    const principal = r.principal(request);
    // Every user of the tenant is read from Auth0 inside this request, on the rate budget all tenants share.
    requireOperator(principal);
    const row = await r.tenant(request);
    if (!options.gateway) throw AdminError.unavailable('The sync is disabled in this process (SYNC_ENABLED=false): there is no Auth0 to compare with');
    await storedConfig(row.id, row.name);
    const dryRun = Boolean((request.body as { dryRun?: boolean } | null)?.dryRun);
    const drift = await reconcileTenant(db, options.gateway, dryRun ? options.queue : r.queue(), row.id, dryRun);
    if (!dryRun) await auditAfterCommit(db, request.log, row.id, principal, 'reconcile', null, { drifted: drift.length });
    return { dryRun, drift };
  });

  app.get('/tenants/:tenant/audit', {
    schema: {
      tags: ['audit'], summary: 'Who changed what in this tenant, newest first', security: SECURITY, params: tenantParams,
      querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 }, before: { type: 'string', format: 'uuid' } } },
      response: { 200: { type: 'object', properties: { entries: { type: 'array', items: looseObject } } }, ...commonErrors },
    },
  }, async (request) => {
    const row = await r.tenant(request);
    const { limit, before } = request.query as { limit: number; before?: string };
    return { entries: await listAudit(db, row.id, limit, before) };
  });
}
