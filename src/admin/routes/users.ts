import type { FastifyRequest } from 'fastify';
import { isBound } from '../../db/sync.js';
import { userTimeline } from '../../db/user-timeline.js';
import { auditAfterCommit } from '../audit.js';
import { CursorError, findDirectoryUser, listDirectoryGroups, listDirectoryUsers } from '../../db/user-listing.js';
import { AdminError } from '../errors.js';
import { SECURITY, type AdminRoutes } from '../plugin.js';
import { commonErrors, looseObject, tenantParams, timelineEventSchema, userSummarySchema } from '../schemas.js';
import { applyUserAction, eraseUser, UserActionError, type UserAction } from '../user-actions.js';
import { explainUser } from '../user-status.js';

/** The statuses a live directory user can have (`deleted` belongs to users the IdP removed, not listed). */
const SYNC_STATUSES = ['pending', 'synced', 'awaiting-login', 'held', 'failed', 'unbound'] as const;

const userParams = {
  type: 'object', required: ['tenant', 'id'],
  properties: { ...tenantParams.properties, id: { type: 'string', format: 'uuid', description: 'The SCIM id of the user' } },
} as const;

const ACTIONS: Record<UserAction, string> = {
  block: 'Block the user in Auth0 and revoke their sessions, whatever the IdP says, until unblocked',
  unblock: 'Lift an admin block (the user stays blocked while the IdP says active:false)',
  'remove-from-org': 'Remove the user from the organization and its roles, and keep them out, until added back',
  'add-to-org': 'Lift a removal: membership and roles follow the IdP and the rules again',
};

/** A customer admin's view of their directory users, and the overrides they may apply (docs/admin-api.md). */
export function registerUserRoutes(r: AdminRoutes): void {
  const { app, options } = r;
  const { db } = options;

  // Without the sync in this process an override or erasure would be recorded but never reach Auth0.
  const requireSync = async (tenantId: string) => {
    if (!options.events && (await isBound(db, tenantId))) throw AdminError.unavailable('The sync is disabled in this process (SYNC_ENABLED=false): send this to a replica that runs it');
  };

  const actionFailed = (err: unknown): never => {
    if (err instanceof UserActionError) throw new AdminError(err.status, err.status === 404 ? 'not_found' : 'conflict', err.message);
    throw err;
  };

  app.get('/tenants/:tenant/users', {
    schema: {
      tags: ['users'], summary: 'Directory users with their sync status, in userName order', security: SECURITY, params: tenantParams,
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          cursor: { type: 'string', maxLength: 1024, description: 'The `next` of the previous page' },
          status: { type: 'string', enum: [...SYNC_STATUSES] },
          search: { type: 'string', minLength: 1, maxLength: 254, description: 'Prefix of the userName or email' },
          group: { type: 'string', format: 'uuid', description: 'Only the direct members of this group (its id, from GET …/groups)' },
        },
      },
      response: { 200: { type: 'object', properties: { users: { type: 'array', items: userSummarySchema }, next: { type: ['string', 'null'] } } }, ...commonErrors },
    },
  }, async (request) => {
    const row = await r.tenant(request);
    const query = request.query as { limit: number; cursor?: string; status?: (typeof SYNC_STATUSES)[number]; search?: string; group?: string };
    try {
      return await listDirectoryUsers(db, row.id, query);
    } catch (err) {
      if (err instanceof CursorError) throw AdminError.invalid(err.message);
      throw err;
    }
  });

  app.get('/tenants/:tenant/groups', {
    schema: {
      tags: ['users'], summary: 'Directory groups by display name, with their direct user count (the users filter)', security: SECURITY, params: tenantParams,
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
          search: { type: 'string', minLength: 1, maxLength: 254, description: 'Prefix of the display name' },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            groups: {
              type: 'array',
              items: { type: 'object', properties: { id: { type: 'string' }, displayName: { type: 'string' }, externalId: { type: ['string', 'null'] }, users: { type: 'integer' } } },
            },
          },
        },
        ...commonErrors,
      },
    },
  }, async (request) => {
    const row = await r.tenant(request);
    const query = request.query as { limit: number; search?: string };
    return { groups: await listDirectoryGroups(db, row.id, query) };
  });

  app.get('/tenants/:tenant/users/:id', {
    schema: {
      tags: ['users'], summary: 'One user: sync state, and the reason for each membership and role', security: SECURITY, params: userParams,
      response: { 200: { type: 'object', properties: { user: userSummarySchema, explanation: looseObject } }, ...commonErrors },
    },
  }, async (request) => {
    const row = await r.tenant(request);
    const { id } = request.params as { id: string };
    // Only the operator, who delivers password-change tickets, gets them opened.
    const secrets = r.principal(request).kind === 'operator' ? options.secrets : undefined;
    const [user, explanation] = await Promise.all([findDirectoryUser(db, row.id, id), explainUser(db, row.id, id, secrets)]);
    if (!user) throw AdminError.notFound(`Tenant "${row.name}" has no user ${id}`);
    return { user, explanation };
  });

  app.get('/tenants/:tenant/users/:id/timeline', {
    schema: {
      tags: ['users'], summary: 'What happened to one user, newest first: the IdP\'s requests, admin actions, sync runs with their Auth0 calls, login decisions',
      description: 'Sync runs and login decisions are kept SCIM_AUDIT_RETENTION_DAYS, like the SCIM requests, and reach the timeline within about a second.',
      security: SECURITY, params: userParams,
      querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 } } },
      response: { 200: { type: 'object', properties: { events: { type: 'array', items: timelineEventSchema } } }, ...commonErrors },
    },
  }, async (request) => {
    const row = await r.tenant(request);
    const { id } = request.params as { id: string };
    const { limit } = request.query as { limit: number };
    const user = await findDirectoryUser(db, row.id, id);
    if (!user) throw AdminError.notFound(`Tenant "${row.name}" has no user ${id}`);
    return { events: await userTimeline(db, row.id, id, limit) };
  });

  for (const action of Object.keys(ACTIONS) as UserAction[]) {
    app.post(`/tenants/:tenant/users/:id/${action}`, {
      schema: {
        tags: ['users'], summary: ACTIONS[action], security: SECURITY, params: userParams,
        body: { type: ['object', 'null'], additionalProperties: false, properties: { reason: { type: 'string', maxLength: 500 } } },
        response: { 200: { type: 'object', properties: { user: userSummarySchema, queued: { type: 'boolean', description: 'False when the tenant is not bound to Auth0' } } }, ...commonErrors },
      },
    }, async (request: FastifyRequest) => {
      const principal = r.principal(request);
      const row = await r.tenant(request);
      const { id } = request.params as { id: string };
      const reason = (request.body as { reason?: string } | null)?.reason;
      await requireSync(row.id);
      const result = await applyUserAction(db, options.events, row.id, id, action, principal.actor, reason).catch(actionFailed);
      await auditAfterCommit(db, request.log, row.id, principal, `user.${action}`, id, reason ? { reason } : {});
      return { user: await findDirectoryUser(db, row.id, id), queued: result.queued };
    });
  }

  app.delete('/tenants/:tenant/users/:id', {
    schema: {
      tags: ['users'], summary: 'Erase the user (GDPR): deleted from Auth0 and from Provisio',
      description: 'Unassign the user in the IdP first: an IdP that still assigns them provisions them again as a new user. 202 when the Auth0 deletion is queued, 204 when nothing was left to do in Auth0.',
      security: SECURITY, params: userParams, response: { 202: { type: 'object', properties: { queued: { type: 'boolean' } } }, 204: { type: 'null' }, ...commonErrors },
    },
  }, async (request, reply) => {
    const principal = r.principal(request);
    const row = await r.tenant(request);
    const { id } = request.params as { id: string };
    await requireSync(row.id);
    const result = await eraseUser(db, options.events, row.id, id, principal.actor).catch(actionFailed);
    await auditAfterCommit(db, request.log, row.id, principal, 'user.erase', id);
    return result.queued ? reply.code(202).send({ queued: true }) : reply.code(204).send();
  });
}
