/**
 * Auth0 inbound SCIM for enterprise connections: `/scim/v2/connections/{connection_id}/Users`
 * (docs:/authenticate/protocols/scim/configure-inbound-scim). POST creates the enterprise user ahead of
 * login (SCIM `id` = Auth0 `user_id`, built from `user_id_attribute`, default `externalId`); GET (by id,
 * list with `eq`/`and`/`or` filters), PUT, PATCH, DELETE. Deactivation (`active:false`) blocks the user
 * and revokes its sessions and refresh tokens. Per-connection SCIM bearer tokens and scopes; SCIM rate
 * limits (25 rps per connection, 100 rps tenant; Free 5 / 5). Groups are not emulated.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EmulatorContext } from '../context.js';
import { Auth0ApiError } from '../errors.js';
import { applyFault } from '../fault-hook.js';
import { isRecord } from '../metadata.js';
import {
  applyScimFields, applyScimPatch, readScimUser, SCIM_LIST_SCHEMA, scimFilter, ScimEmuError, scimUserView,
} from '../scim-mapping.js';
import type { EmuConnection, EmuUser } from '../types.js';
import { buildUser, deleteUser, revokeAccess, userIdFor } from '../user-ops.js';

const SCIM_CONTENT_TYPE = 'application/scim+json';

interface Params {
  connectionId: string;
  userId?: string;
}

export function registerScimRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { state } = ctx;

  app.register(async (scim) => {
    scim.setErrorHandler((error: Error, _request, reply) => {
      if (error instanceof ScimEmuError) return reply.status(error.status).type(SCIM_CONTENT_TYPE).send(error.toBody());
      if (error instanceof Auth0ApiError) {
        reply.headers(error.headers);
        return reply.status(error.statusCode).type(SCIM_CONTENT_TYPE).send(new ScimEmuError(error.statusCode, error.message).toBody());
      }
      return reply.status(500).type(SCIM_CONTENT_TYPE).send(new ScimEmuError(500, 'Internal Server Error').toBody());
    });

    /** Fault → connection → token → rate limit → scope, as for the Management API. */
    const guard = (scope: string) => async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      const fault = await applyFault(ctx, 'SCIM', request, reply);
      if (fault === 'hijacked') return reply;
      const { connectionId } = request.params as Params;
      const cfg = state.scim.get(connectionId);
      if (!state.connections.has(connectionId) || !cfg) throw new ScimEmuError(404, 'SCIM is not enabled for this connection');
      const header = request.headers.authorization ?? '';
      const token = cfg.tokens.find((t) => `Bearer ${t.token}` === header);
      if (!token || (token.valid_until !== undefined && Date.parse(token.valid_until) <= ctx.now())) {
        throw new ScimEmuError(401, 'Invalid or expired SCIM token');
      }
      reply.headers(ctx.limiter.enforce('scim_tenant'));
      reply.headers(ctx.limiter.enforce('scim_connection', connectionId));
      if (!token.scopes.includes(scope)) throw new ScimEmuError(403, `Insufficient scope, expected ${scope}`);
      if (fault === 'error-before') throw new ScimEmuError(request.faultStatus ?? 500, 'Injected fault');
      return undefined;
    };

    const connectionOf = (request: FastifyRequest): EmuConnection => state.connection((request.params as Params).connectionId);
    const location = (c: EmuConnection, u: EmuUser): string => `${ctx.issuer()}/scim/v2/connections/${c.id}/Users/${encodeURIComponent(u.user_id)}`;
    const userOf = (request: FastifyRequest): { connection: EmuConnection; user: EmuUser } => {
      const connection = connectionOf(request);
      const user = state.users.get((request.params as Params).userId ?? '');
      if (!user || user.identities[0]?.connection !== connection.name) throw new ScimEmuError(404, 'User not found');
      return { connection, user };
    };
    const send = (reply: FastifyReply, status: number, body?: unknown): FastifyReply => {
      // An `errorPhase: 'after'` fault: the change above is applied, the client still sees a 5xx.
      if (reply.request.faultAfter) throw new ScimEmuError(reply.request.faultStatus ?? 500, 'Injected fault');
      reply.status(status);
      return body === undefined ? reply.send() : reply.type(SCIM_CONTENT_TYPE).send(body);
    };
    const deactivate = (user: EmuUser): void => revokeAccess(user);

    scim.post('/Users', { preHandler: guard('post:users'), config: { operation: 'SCIM POST /Users' } }, async (request, reply) => {
      const connection = connectionOf(request);
      const cfg = state.scim.get(connection.id);
      const fields = readScimUser(request.body);
      if (!fields.userName) throw new ScimEmuError(400, 'userName is required', 'invalidValue');
      const attribute = cfg?.user_id_attribute ?? 'externalId';
      const localId = attribute === 'userName' ? fields.userName : fields.externalId;
      if (!localId) throw new ScimEmuError(400, `${attribute} is required to build the user id`, 'invalidValue');
      if (state.users.has(userIdFor(connection, localId))) throw new ScimEmuError(409, 'User already exists', 'uniqueness');
      const user = buildUser({ connection, localId }, new Date(ctx.now()).toISOString());
      applyScimFields(user, fields);
      if (fields.displayName === undefined && (fields.givenName || fields.familyName)) {
        user.name = [fields.givenName, fields.familyName].filter(Boolean).join(' ');
      }
      state.users.set(user.user_id, user);
      reply.header('location', location(connection, user));
      return send(reply, 201, scimUserView(user, location(connection, user)));
    });

    scim.get('/Users', { preHandler: guard('get:users'), config: { operation: 'SCIM GET /Users' } }, async (request, reply) => {
      const connection = connectionOf(request);
      const q = isRecord(request.query) ? request.query : {};
      let users = [...state.users.values()].filter((u) => u.identities[0]?.connection === connection.name);
      if (typeof q['filter'] === 'string' && q['filter'].trim()) users = users.filter(scimFilter(q['filter']));
      const startIndex = Math.max(1, Number(q['startIndex'] ?? 1) || 1);
      const count = Math.max(0, Math.min(100, Number(q['count'] ?? 100) || 0));
      const page = users.slice(startIndex - 1, startIndex - 1 + count);
      return send(reply, 200, {
        schemas: [SCIM_LIST_SCHEMA],
        totalResults: users.length,
        startIndex,
        itemsPerPage: page.length,
        Resources: page.map((u) => scimUserView(u, location(connection, u))),
      });
    });

    scim.get('/Users/:userId', { preHandler: guard('get:users'), config: { operation: 'SCIM GET /Users/{id}' } }, async (request, reply) => {
      const { connection, user } = userOf(request);
      return send(reply, 200, scimUserView(user, location(connection, user)));
    });

    scim.put('/Users/:userId', { preHandler: guard('put:users'), config: { operation: 'SCIM PUT /Users/{id}' } }, async (request, reply) => {
      const { connection, user } = userOf(request);
      const fields = readScimUser(request.body);
      if (!fields.userName) throw new ScimEmuError(400, 'userName is required', 'invalidValue');
      const wasBlocked = user.blocked === true;
      // PUT replaces: mapped attributes absent from the body are cleared; `active` defaults to true.
      delete user.given_name;
      delete user.family_name;
      applyScimFields(user, { active: true, ...fields, externalId: undefined });
      user.updated_at = new Date(ctx.now()).toISOString();
      if (!wasBlocked && user.blocked) deactivate(user);
      return send(reply, 200, scimUserView(user, location(connection, user)));
    });

    scim.patch('/Users/:userId', { preHandler: guard('patch:users'), config: { operation: 'SCIM PATCH /Users/{id}' } }, async (request, reply) => {
      const { connection, user } = userOf(request);
      const { deactivated } = applyScimPatch(user, request.body);
      user.updated_at = new Date(ctx.now()).toISOString();
      if (deactivated) deactivate(user);
      return send(reply, 200, scimUserView(user, location(connection, user)));
    });

    scim.delete('/Users/:userId', { preHandler: guard('delete:users'), config: { operation: 'SCIM DELETE /Users/{id}' } }, async (request, reply) => {
      const { user } = userOf(request);
      deleteUser(state, user.user_id, ctx.now());
      return send(reply, 204);
    });
  }, { prefix: '/scim/v2/connections/:connectionId' });
}
