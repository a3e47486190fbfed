import { auditAfterCommit } from '../audit.js';
import { checkDelegatedInvitationRoles } from '../delegation.js';
import { AdminError } from '../errors.js';
import { SECURITY, type AdminRoutes } from '../plugin.js';
import { commonErrors, tenantParams } from '../schemas.js';
import { loadSyncConfig } from '../../sync/sync-user.js';
import type { FastifyRequest } from 'fastify';

const invitationSchema = {
  type: 'object', additionalProperties: true,
  properties: {
    id: { type: 'string' }, email: { type: 'string' }, inviter: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'string' }, expiresAt: { type: 'string' }, invitationUrl: { type: 'string' },
  },
} as const;

/**
 * Auth0 organization invitations of the tenant's bound organization: for people the IdP does not
 * provision (contractors, a database-connection org). Auth0 needs the application the invitation
 * opens (`binding.onboardingClientId`).
 */
export function registerInvitationRoutes(r: AdminRoutes): void {
  const { app, options } = r;

  const context = async (request: FastifyRequest) => {
    const row = await r.tenant(request);
    const gateway = options.gateway;
    if (!gateway) throw AdminError.unavailable('The sync is disabled in this process (SYNC_ENABLED=false): Auth0 is not reachable from here');
    const config = await loadSyncConfig(options.db, row.id);
    if (!config) throw AdminError.conflict(`Tenant "${row.name}" is not bound to Auth0 yet`);
    const orgId = config.binding.organization.id ?? (await gateway.getOrganizationByName(config.binding.organization.name, row.id))?.id;
    if (!orgId) throw AdminError.conflict(`The Auth0 organization "${config.binding.organization.name}" does not exist yet (the first sync creates it)`);
    return { row, gateway, config, orgId };
  };

  app.get('/tenants/:tenant/invitations', {
    schema: { tags: ['invitations'], summary: 'Pending invitations of the organization', security: SECURITY, params: tenantParams, response: { 200: { type: 'object', properties: { invitations: { type: 'array', items: invitationSchema } } }, ...commonErrors } },
  }, async (request) => {
    const { row, gateway, orgId } = await context(request);
    return { invitations: await gateway.listInvitations(orgId, row.id) };
  });

  app.post('/tenants/:tenant/invitations', {
    schema: {
      tags: ['invitations'], summary: 'Invite someone into the organization (Auth0 sends the email unless sendEmail is false)', security: SECURITY, params: tenantParams,
      body: {
        type: 'object', additionalProperties: false, required: ['email'],
        properties: {
          email: { type: 'string', format: 'email', maxLength: 254 },
          roles: { type: 'array', items: { type: 'string' }, maxItems: 50, description: 'Org role names; an org admin may use only roles the tenant\'s rules grant' },
          connectionId: { type: 'string', description: 'One of the binding\'s connections (default: the first)' },
          ttlSec: { type: 'integer', minimum: 0, maximum: 2_592_000 },
          sendEmail: { type: 'boolean', default: true },
        },
      },
      response: { 201: { type: 'object', properties: { id: { type: 'string' }, invitationUrl: { type: 'string' } } }, ...commonErrors },
    },
  }, async (request, reply) => {
    const principal = r.principal(request);
    const { row, gateway, config, orgId } = await context(request);
    const body = request.body as { email: string; roles?: string[]; connectionId?: string; ttlSec?: number; sendEmail: boolean };
    const clientId = config.binding.onboardingClientId;
    if (!clientId) throw AdminError.conflict('Invitations need the application they open: set binding.onboardingClientId');
    const connectionId = body.connectionId ?? config.binding.connections[0]?.id;
    if (body.connectionId && !config.binding.connections.some((c) => c.id === body.connectionId)) {
      throw AdminError.invalid(`connectionId ${body.connectionId} is not one of the tenant's connections`);
    }
    checkDelegatedInvitationRoles(principal, body.roles ?? [], config.rules);
    const resolved = await gateway.resolveRoleIds(body.roles ?? [], row.id);
    if (resolved.unknown.length) throw AdminError.invalid(`Auth0 has no role named ${resolved.unknown.map((n) => `"${n}"`).join(', ')}`);
    const created = await gateway.createInvitation(orgId, {
      inviterName: principal.kind === 'org-admin' ? `${row.display_name} admin` : 'Provisio',
      email: body.email, clientId, ...(connectionId ? { connectionId } : {}),
      roles: [...resolved.ids.values()], ...(body.ttlSec !== undefined ? { ttlSec: body.ttlSec } : {}), sendEmail: body.sendEmail,
    }, row.id);
    await auditAfterCommit(options.db, request.log, row.id, principal, 'invitation.create', created.id, { roles: body.roles ?? [] });
    return reply.code(201).send({ id: created.id, invitationUrl: created.invitation_url });
  });

  app.delete('/tenants/:tenant/invitations/:id', {
    schema: {
      tags: ['invitations'], summary: 'Withdraw an invitation', security: SECURITY,
      params: { type: 'object', required: ['tenant', 'id'], properties: { ...tenantParams.properties, id: { type: 'string', pattern: '^[A-Za-z0-9_]{1,64}$' } } },
      response: { 204: { type: 'null' }, ...commonErrors },
    },
  }, async (request, reply) => {
    const principal = r.principal(request);
    const { row, gateway, orgId } = await context(request);
    const { id } = request.params as { id: string };
    if (!(await gateway.deleteInvitation(orgId, id, row.id))) throw AdminError.notFound(`No invitation ${id} in this organization`);
    await auditAfterCommit(options.db, request.log, row.id, principal, 'invitation.delete', id);
    return reply.code(204).send();
  });
}

