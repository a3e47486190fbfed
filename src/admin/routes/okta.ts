import type { FastifyRequest } from 'fastify';
import { failedMirrors, findOktaBinding, mirrorStatusCounts } from '../../db/okta.js';
import { findSyncConfig } from '../../db/sync.js';
import { bindOkta, retryOktaMirrors, unbindOkta } from '../../okta/bind.js';
import { describeOktaBinding, parseOktaBinding } from '../../okta/binding.js';
import type { OktaQueue } from '../../okta/queue.js';
import { auditAfterCommit } from '../audit.js';
import { requireOperator } from '../auth.js';
import { AdminError } from '../errors.js';
import { SECURITY, type AdminRoutes } from '../plugin.js';
import { commonErrors, tenantParams } from '../schemas.js';

const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;

const groupRuleSchema = {
  type: 'object', additionalProperties: false, required: ['match', 'oktaGroup'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 200, description: 'Unique within the binding; default `okta-rule-<position>`' },
    match: {
      type: 'object', additionalProperties: false, required: ['value'],
      description: 'The directory group, as the Auth0 role rules match it',
      properties: { by: { type: 'string', enum: ['id', 'externalId', 'displayName'], description: 'Default `displayName`' }, value: str },
    },
    oktaGroup: {
      type: 'object', additionalProperties: false,
      description: '`{id}`: an existing Okta group; `{name, description?}`: the Okta group of that name, created if missing',
      properties: { id: str, name: { type: 'string', maxLength: 255 }, description: str },
    },
  },
} as const;

const groupRulesSchema = { type: 'array', maxItems: 1000, items: groupRuleSchema } as const;

/** The binding document of docs/okta-mirror.md; semantic checks (URL, attribute names, duplicates) are src/okta/binding.ts's. */
const bindingBodySchema = {
  type: 'object', additionalProperties: false,
  properties: {
    orgUrl: { type: 'string', description: '`https://<org>.okta.com`; omitted: the built-in Okta emulator (refused under NODE_ENV=production)' },
    auth: {
      type: 'object', additionalProperties: false,
      description: '`{method: "api-token", token}` or `{method: "private-key", clientId, privateKey, keyId?, scopes?}`. Secrets are sealed with PROVISIO_ENCRYPTION_KEY, never returned, and must be sent again on every PUT',
      properties: {
        method: { type: 'string', enum: ['api-token', 'private-key'], description: 'Default `api-token`' },
        token: { type: 'string', description: 'api-token: an Okta API token (Security → API → Tokens)' },
        clientId: { type: 'string', description: 'private-key: the API Services app\'s client id' },
        privateKey: { anyOf: [{ type: 'string' }, { type: 'object' }], description: 'private-key: the app\'s private key, a PEM or a private JWK' },
        keyId: { type: 'string', description: 'private-key: the key\'s `kid` as Okta shows it' },
        scopes: { type: 'array', items: str, description: 'Default `okta.users.manage okta.groups.manage`' },
      },
    },
    profileMapping: {
      type: 'array', maxItems: 200,
      description: 'Directory attribute → Okta profile attribute; later entries for one Okta attribute are fallbacks. Must map `login` and `email`. Default in docs/okta-mirror.md',
      items: { type: 'object', additionalProperties: false, required: ['scim', 'okta'], properties: { scim: str, okta: str } },
    },
    groupRules: { ...groupRulesSchema, description: 'Omitted: the stored group rules are kept' },
    onDelete: { type: 'string', enum: ['deactivate', 'delete'], description: 'Default `deactivate`' },
    activation: { type: 'string', enum: ['federated', 'activation-email', 'staged'], description: 'Default `federated`' },
    auth0IdAttribute: { type: 'string', description: 'The custom Okta profile attribute holding the Auth0 user id; default `auth0UserId`' },
  },
} as const;

const groupRuleView = {
  type: 'object', additionalProperties: true,
  properties: {
    id: str,
    match: { type: 'object', additionalProperties: true, properties: { by: str, value: str } },
    oktaGroup: { type: 'object', additionalProperties: true, properties: { id: str, name: str, description: str } },
  },
} as const;

/** What describeOktaBinding shows: the document without its secrets. */
const bindingView = {
  type: 'object', additionalProperties: true,
  description: 'The binding as stored, credentials replaced by `"set"`',
  properties: {
    orgUrl: nullableStr,
    target: { type: 'string', enum: ['okta', 'emulator'] },
    auth: {
      type: ['object', 'null'], additionalProperties: true,
      properties: { method: str, token: str, clientId: str, keyId: nullableStr, privateKey: str, scopes: { type: 'array', items: str } },
    },
    profileMapping: { type: 'array', items: { type: 'object', additionalProperties: true, properties: { scim: str, okta: str } } },
    groupRules: { type: 'array', items: groupRuleView },
    onDelete: str,
    activation: str,
    auth0IdAttribute: str,
  },
} as const;

const queuedSchema = { type: 'integer', description: 'Users queued for a mirror job' } as const;

/** A tenant's Okta binding (docs/okta-mirror.md): bind, show with its mirrors, unbind, group rules, retries. */
export function registerOktaRoutes(r: AdminRoutes): void {
  const { app, options } = r;
  const { db } = options;

  // As PUT /binding with the sync disabled (r.queue()): writes that queue mirror jobs answer 503 rather than
  // store a binding no worker in this process would act on. Reading and unbinding need no queue.
  const queue = (): OktaQueue => {
    if (!options.oktaQueue) throw AdminError.unavailable('The sync is disabled in this process (SYNC_ENABLED=false): the Okta mirror runs with it');
    return options.oktaQueue;
  };
  const notBound = (tenantName: string) => AdminError.notFound(`Tenant "${tenantName}" is not bound to Okta (PUT /v1/admin/tenants/${tenantName}/okta)`);
  /** An operator's write to a tenant bound to Okta: 503 while the sync is disabled, 404 when it is not bound. */
  const boundWrite = async (request: FastifyRequest) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const row = await r.tenant(request);
    const lane = queue();
    if (!(await findOktaBinding(db, row.id))) throw notBound(row.name);
    return { principal, row, lane };
  };
  const oktaOptions = () => ({ ...(options.secrets ? { secrets: options.secrets } : {}), production: options.production ?? false });

  app.put('/tenants/:tenant/okta', {
    schema: {
      tags: ['okta'], summary: 'Bind the tenant to an Okta org (or change its binding) and queue every user already in Auth0 (operator)', security: SECURITY, params: tenantParams,
      description: 'The binding document of docs/okta-mirror.md. An invalid document is a 400 naming the field, and nothing is stored. The tenant must be bound to Auth0 first (409). '
        + 'Credentials are sealed with PROVISIO_ENCRYPTION_KEY (409 without it) and must be sent again on every change; omitted `groupRules` keep the stored ones.',
      body: bindingBodySchema,
      response: { 200: { type: 'object', properties: { binding: bindingView, queued: queuedSchema } }, ...commonErrors },
    },
  }, async (request) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const row = await r.tenant(request);
    const lane = queue();
    if (!(await findSyncConfig(db, row.id))) throw AdminError.conflict(`Tenant "${row.name}" is not bound to Auth0 yet (PUT /v1/admin/tenants/${row.name}/binding): the Okta mirror copies the users Provisio provisions into Auth0`);
    const body = request.body as Record<string, unknown>;
    if (body.auth !== undefined && !options.secrets) throw AdminError.conflict('Storing Okta credentials needs PROVISIO_ENCRYPTION_KEY (32 bytes, base64)');
    const { binding, queued } = await bindOkta(db, lane, row.id, (stored: Record<string, unknown> | undefined) => ('groupRules' in body ? body : { ...body, groupRules: stored?.groupRules }), oktaOptions());
    await auditAfterCommit(db, request.log, row.id, principal, 'okta.bind', binding.orgUrl ?? 'emulator', { queued });
    return { binding: describeOktaBinding(binding), queued };
  });

  app.get('/tenants/:tenant/okta', {
    schema: {
      tags: ['okta'], summary: 'The Okta binding (credentials omitted), users by mirror status, and the latest failed mirrors', security: SECURITY, params: tenantParams,
      response: {
        200: {
          type: 'object',
          properties: {
            binding: bindingView,
            counts: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Users by mirror status: pending, mirrored, deactivated, deleted, failed' },
            failed: {
              type: 'array', description: 'Up to 50 failed mirrors, newest first',
              items: {
                type: 'object', additionalProperties: true,
                properties: {
                  userId: str, userName: { ...nullableStr, description: 'Null once the directory user is gone' },
                  lastError: nullableStr, attempts: { type: 'integer' }, changedAt: { type: 'string', format: 'date-time' },
                },
              },
            },
          },
        },
        ...commonErrors,
      },
    },
  }, async (request) => {
    const row = await r.tenant(request);
    const stored = await findOktaBinding(db, row.id);
    if (!stored) throw notBound(row.name);
    const [counts, failed] = await Promise.all([mirrorStatusCounts(db, row.id), failedMirrors(db, row.id, 50)]);
    const ids = failed.map((f) => f.user_id);
    const users = ids.length === 0 ? [] : await db.selectFrom('users').select(['id', 'user_name']).where('tenant_id', '=', row.id).where('id', 'in', ids).execute();
    const names = new Map(users.map((u) => [u.id, u.user_name]));
    return {
      binding: describeOktaBinding(parseOktaBinding(stored, { acceptSealed: true })),
      counts,
      failed: failed.map((f) => ({ userId: f.user_id, userName: names.get(f.user_id) ?? null, lastError: f.last_error, attempts: f.attempts, changedAt: f.changed_at.toISOString() })),
    };
  });

  app.delete('/tenants/:tenant/okta', {
    schema: {
      tags: ['okta'], summary: 'Stop mirroring the tenant into Okta; Okta users already created stay as they are (operator)', security: SECURITY, params: tenantParams,
      response: { 204: { type: 'null' }, ...commonErrors },
    },
  }, async (request, reply) => {
    const principal = r.principal(request);
    requireOperator(principal);
    const row = await r.tenant(request);
    if (!(await unbindOkta(db, row.id))) throw notBound(row.name);
    await auditAfterCommit(db, request.log, row.id, principal, 'okta.unbind', null);
    return reply.code(204).send();
  });

  app.put('/tenants/:tenant/okta/group-rules', {
    schema: {
      tags: ['okta'], summary: 'Replace the Okta group rules (the rest of the binding stays); every mirrored user is queued (operator)', security: SECURITY, params: tenantParams,
      description: 'Directory group (by id, externalId or displayName) → Okta group (by id, or by name: created if missing). An invalid rule is a 400 naming it, and nothing changes.',
      body: { type: 'object', additionalProperties: false, required: ['groupRules'], properties: { groupRules: groupRulesSchema } },
      response: { 200: { type: 'object', properties: { groupRules: { type: 'array', items: groupRuleView }, queued: queuedSchema } }, ...commonErrors },
    },
  }, async (request) => {
    const { principal, row, lane } = await boundWrite(request);
    const { groupRules } = request.body as { groupRules: unknown[] };
    const { binding, queued } = await bindOkta(db, lane, row.id, (stored: Record<string, unknown> | undefined) => {
      if (!stored) throw notBound(row.name);
      return { ...stored, groupRules };
    }, oktaOptions());
    await auditAfterCommit(db, request.log, row.id, principal, 'okta.group-rules.set', null, { groupRules: binding.groupRules.length, queued });
    return { groupRules: binding.groupRules, queued };
  });

  app.post('/tenants/:tenant/okta/retry', {
    schema: {
      tags: ['okta'], summary: 'Queue the users whose Okta mirror failed again (all of them, or those named) (operator)', security: SECURITY, params: tenantParams,
      description: 'A failed mirror stays failed until the user changes again; after fixing the cause (a missing scope or admin role, a profile attribute Okta refuses), this retries them now with a fresh attempt count.',
      body: {
        type: ['object', 'null'], additionalProperties: false,
        properties: { userIds: { type: 'array', maxItems: 1000, items: { type: 'string', format: 'uuid' }, description: 'Only these users (those of them whose mirror failed)' } },
      },
      response: { 200: { type: 'object', properties: { queued: queuedSchema } }, ...commonErrors },
    },
  }, async (request) => {
    const { principal, row, lane } = await boundWrite(request);
    const { userIds } = (request.body ?? {}) as { userIds?: string[] };
    const queued = await retryOktaMirrors(db, lane, row.id, userIds);
    await auditAfterCommit(db, request.log, row.id, principal, 'okta.retry', null, { queued });
    return { queued };
  });
}
