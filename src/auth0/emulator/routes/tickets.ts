/**
 * `POST /tickets/password-change`: `user_id`, or `email` + `connection_id` (spec
 * ChangePasswordTicketRequestContent); `ttl_sec` 0 ⇒ 5 days; `result_url` cannot be combined with
 * `client_id`/`organization_id`. Answers 201 `{ticket}`; the ticket is recorded for inspection.
 */
import type { FastifyInstance } from 'fastify';
import type { EmulatorContext } from '../context.js';
import { badRequest, notFound } from '../errors.js';
import { newTicketId } from '../ids.js';
import { isRecord } from '../metadata.js';
import { registerOperation } from '../route.js';
import type { EmuTicket, EmuUser } from '../types.js';
import { primaryConnection } from '../user-ops.js';

const DEFAULT_TTL_SEC = 432_000;

export function registerTicketRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { state } = ctx;

  registerOperation(app, ctx, 'POST /tickets/password-change', ({ body }) => {
    const b = isRecord(body) ? body : {};
    const str = (k: string): string | undefined => (typeof b[k] === 'string' ? b[k] : undefined);
    if (str('result_url') !== undefined && (str('client_id') !== undefined || str('organization_id') !== undefined)) {
      throw badRequest('The result_url parameter cannot be used with client_id or organization_id', 'invalid_body');
    }
    let user: EmuUser | undefined;
    const userId = str('user_id');
    if (userId !== undefined) user = state.users.get(userId);
    else {
      const email = str('email');
      const connectionId = str('connection_id');
      if (email === undefined || connectionId === undefined) {
        throw badRequest('Either user_id, or email and connection_id, are required', 'invalid_body');
      }
      const connection = state.connection(connectionId);
      user = [...state.users.values()].find((u) => u.email === email.toLowerCase() && u.identities.some((i) => i.connection === connection.name));
    }
    if (!user) throw notFound('The user does not exist.', 'inexistent_user');
    if (primaryConnection(state, user)?.strategy !== 'auth0') {
      throw badRequest('Password change tickets can only be created for database connection users', 'operation_not_supported');
    }
    const clientId = str('client_id');
    if (clientId !== undefined && !state.clients.has(clientId)) throw notFound(`Client not found: ${clientId}`, 'inexistent_client');
    const organizationId = str('organization_id');
    if (organizationId !== undefined) state.organization(organizationId);
    const ttl = typeof b['ttl_sec'] === 'number' && b['ttl_sec'] > 0 ? b['ttl_sec'] : DEFAULT_TTL_SEC;
    const id = newTicketId();
    const now = ctx.now();
    const ticket: EmuTicket = {
      id,
      user_id: user.user_id,
      ticket: `${ctx.issuer()}/lo/reset?ticket=${id}#`,
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + ttl * 1000).toISOString(),
    };
    if (organizationId !== undefined) ticket.organization_id = organizationId;
    if (clientId !== undefined) ticket.client_id = clientId;
    state.tickets.set(id, ticket);
    return { status: 201, body: { ticket: ticket.ticket } };
  });
}
