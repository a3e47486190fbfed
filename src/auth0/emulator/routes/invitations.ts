/**
 * Organization invitations (docs:/manage-users/organizations/configure-organizations/
 * send-membership-invitations): `ttl_sec` 0 ⇒ 7 days, max 30 days; roles ≤ 50 and must exist; the
 * spec answers the create with 200. No email is sent; the `invitation_url` is returned either way.
 */
import type { FastifyInstance } from 'fastify';
import type { EmulatorContext } from '../context.js';
import { badRequest, notFound } from '../errors.js';
import { newInvitationId, newTicketId } from '../ids.js';
import { isRecord } from '../metadata.js';
import { paginate } from '../pagination.js';
import { registerOperation } from '../route.js';
import type { EmuInvitation } from '../types.js';

const DEFAULT_TTL_SEC = 604_800;
const MAX_TTL_SEC = 2_592_000;

function view(inv: EmuInvitation): Record<string, unknown> {
  const { send_invitation_email: _send, ...rest } = inv;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
}

export function registerInvitationRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { state } = ctx;

  registerOperation(app, ctx, 'POST /organizations/{id}/invitations', ({ params, body }) => {
    const org = state.organization(params['id'] ?? '');
    const b = isRecord(body) ? body : {};
    const clientId = String(b['client_id']);
    if (!state.clients.has(clientId)) throw badRequest(`The client_id does not exist: ${clientId}`, 'inexistent_client');
    const connectionId = typeof b['connection_id'] === 'string' ? b['connection_id'] : undefined;
    if (connectionId !== undefined && !state.connections.has(connectionId)) {
      throw badRequest(`The connection does not exist: ${connectionId}`, 'inexistent_connection');
    }
    const roles = Array.isArray(b['roles']) ? b['roles'].filter((r): r is string => typeof r === 'string') : [];
    const missing = roles.filter((r) => !state.roles.has(r));
    if (missing.length) throw badRequest(`One or more of the specified roles do not exist: ${missing.join(', ')}`, 'inexistent_role');
    const ttl = typeof b['ttl_sec'] === 'number' && b['ttl_sec'] > 0 ? b['ttl_sec'] : DEFAULT_TTL_SEC;
    if (ttl > MAX_TTL_SEC) throw badRequest(`ttl_sec cannot be greater than ${MAX_TTL_SEC}`, 'invalid_body');
    const now = ctx.now();
    const ticketId = newTicketId();
    const inviter = isRecord(b['inviter']) ? { name: String(b['inviter']['name']) } : { name: '' };
    const invitee = isRecord(b['invitee']) ? { email: String(b['invitee']['email']) } : { email: '' };
    const inv: EmuInvitation = {
      id: newInvitationId(),
      organization_id: org.id,
      inviter,
      invitee,
      client_id: clientId,
      roles,
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + ttl * 1000).toISOString(),
      ticket_id: ticketId,
      invitation_url: `${ctx.issuer()}/login?invitation=${ticketId}&organization=${org.id}&organization_name=${encodeURIComponent(org.name)}`,
      send_invitation_email: b['send_invitation_email'] !== false,
    };
    if (connectionId !== undefined) inv.connection_id = connectionId;
    if (isRecord(b['app_metadata'])) inv.app_metadata = b['app_metadata'];
    if (isRecord(b['user_metadata'])) inv.user_metadata = b['user_metadata'];
    state.invitations.set(inv.id, inv);
    return { status: 200, body: view(inv) };
  });

  registerOperation(app, ctx, 'GET /organizations/{id}/invitations', ({ params, query }) => {
    const org = state.organization(params['id'] ?? '');
    const items = [...state.invitations.values()].filter((i) => i.organization_id === org.id).map(view);
    return { status: 200, body: paginate(items, query, 'invitations', { withTotal: false }) };
  });

  const find = (orgId: string, invitationId: string): EmuInvitation => {
    state.organization(orgId);
    const inv = state.invitations.get(invitationId);
    if (!inv || inv.organization_id !== orgId) throw notFound('The invitation does not exist', 'inexistent_invitation');
    return inv;
  };

  registerOperation(app, ctx, 'GET /organizations/{id}/invitations/{invitation_id}', ({ params }) => ({
    status: 200,
    body: view(find(params['id'] ?? '', params['invitation_id'] ?? '')),
  }));

  registerOperation(app, ctx, 'DELETE /organizations/{id}/invitations/{invitation_id}', ({ params }) => {
    const inv = find(params['id'] ?? '', params['invitation_id'] ?? '');
    state.invitations.delete(inv.id);
    return { status: 204 };
  });
}
