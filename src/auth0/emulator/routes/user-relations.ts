/**
 * What hangs off a user: linked identities (docs:/manage-users/user-accounts/user-account-linking),
 * tenant roles, organizations, sessions and refresh tokens, revoke-access.
 */
import type { FastifyInstance } from 'fastify';
import type { EmulatorContext } from '../context.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { isRecord } from '../metadata.js';
import { paginate } from '../pagination.js';
import { registerOperation } from '../route.js';
import type { EmuUser } from '../types.js';
import { buildUser, deleteUser, revokeAccess } from '../user-ops.js';
import { organizationView, roleView } from '../views.js';

/** Tenant-wide cap on roles per user (docs:/troubleshoot/customer-support/operational-policies/entity-limit-policy). */
const MAX_ROLES_PER_USER = 50;

function stringList(body: unknown, key: string): string[] {
  const value = isRecord(body) ? body[key] : undefined;
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function registerUserRelationRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { state } = ctx;

  registerOperation(app, ctx, 'POST /users/{id}/identities', ({ params, body }) => {
    const primary = state.user(params['id'] ?? '');
    const b = isRecord(body) ? body : {};
    if (b['link_with'] !== undefined) {
      throw badRequest('Linking with a secondary JWT (link_with) is not supported by the emulator', 'operation_not_supported');
    }
    const provider = typeof b['provider'] === 'string' ? b['provider'] : '';
    const rawId = b['user_id'];
    if (!provider || (typeof rawId !== 'string' && typeof rawId !== 'number')) {
      throw badRequest("Payload validation error: 'provider and user_id are required'.", 'invalid_body');
    }
    const secondaryId = `${provider}|${String(rawId)}`;
    if (primary.identities.some((i) => `${i.provider}|${i.user_id}` === secondaryId)) {
      throw conflict('Specified identity already exists.', 'identity_conflict');
    }
    let secondary = state.users.get(secondaryId);
    const connectionId = typeof b['connection_id'] === 'string' ? b['connection_id'] : undefined;
    if (connectionId !== undefined) {
      const name = state.connection(connectionId).name;
      if (secondary && secondary.identities[0]?.connection !== name) secondary = undefined;
    }
    if (!secondary || secondary === primary) throw badRequest('The user to link does not exist.', 'inexistent_user');
    // The secondary's metadata is discarded and it stops existing as a separate user (linking docs).
    for (const identity of secondary.identities) {
      const profileData: Record<string, unknown> = {};
      if (secondary.email !== undefined) profileData['email'] = secondary.email;
      profileData['email_verified'] = secondary.email_verified;
      if (secondary.name) profileData['name'] = secondary.name;
      primary.identities.push({ ...identity, profileData });
    }
    deleteUser(state, secondary.user_id, ctx.now());
    primary.updated_at = new Date(ctx.now()).toISOString();
    return { status: 201, body: primary.identities };
  });

  registerOperation(app, ctx, 'DELETE /users/{id}/identities/{provider}/{user_id}', ({ params }) => {
    const primary = state.user(params['id'] ?? '');
    const index = primary.identities.findIndex((i) => i.provider === params['provider'] && i.user_id === params['user_id']);
    if (index < 0) throw badRequest('The identity does not exist for this user.', 'inexistent_identity');
    if (index === 0) throw badRequest('Main identity cannot be removed', 'invalid_body');
    const [identity] = primary.identities.splice(index, 1);
    // Unlinking re-creates the secondary account as a user of its own, without the primary's metadata.
    const connection = identity ? state.connectionByName(identity.connection) : undefined;
    if (identity && connection) {
      const localId = connection.strategy === 'auth0' ? identity.user_id : identity.user_id.slice(connection.name.length + 1);
      const email = typeof identity.profileData?.['email'] === 'string' ? identity.profileData['email'] : undefined;
      const restored = buildUser({ connection, localId, email }, new Date(ctx.now()).toISOString());
      state.users.set(restored.user_id, restored);
    }
    return { status: 200, body: primary.identities };
  });

  registerOperation(app, ctx, 'GET /users/{id}/roles', ({ params, query }) => {
    const user = state.user(params['id'] ?? '');
    const roles = user.roles.map((id) => state.roles.get(id)).filter((r) => r !== undefined).map(roleView);
    return { status: 200, body: paginate(roles, query, 'roles') };
  });

  registerOperation(app, ctx, 'POST /users/{id}/roles', ({ params, body }) => {
    const user = state.user(params['id'] ?? '');
    const ids = stringList(body, 'roles');
    const missing = ids.filter((id) => !state.roles.has(id));
    if (missing.length) throw notFound(`One or more of the specified roles do not exist: ${missing.join(', ')}`, 'inexistent_role');
    const next = [...new Set([...user.roles, ...ids])];
    if (next.length > MAX_ROLES_PER_USER) throw badRequest(`A user cannot have more than ${MAX_ROLES_PER_USER} roles`, 'too_many_roles');
    user.roles = next;
    return { status: 204 };
  });

  registerOperation(app, ctx, 'DELETE /users/{id}/roles', ({ params, body }) => {
    const user = state.user(params['id'] ?? '');
    const ids = new Set(stringList(body, 'roles'));
    user.roles = user.roles.filter((r) => !ids.has(r));
    return { status: 204 };
  });

  registerOperation(app, ctx, 'GET /users/{id}/organizations', ({ params, query }) => {
    const userId = params['id'] ?? '';
    return { status: 200, body: paginate(state.organizationsOf(userId).map(organizationView), query, 'organizations') };
  });

  const revoke = (user: EmuUser, what: 'sessions' | 'refresh_tokens'): void => {
    if (what === 'sessions') user.sessions = [];
    else user.refresh_tokens = [];
  };

  registerOperation(app, ctx, 'DELETE /users/{user_id}/sessions', ({ params }) => {
    revoke(state.user(params['user_id'] ?? ''), 'sessions');
    return { status: 202 };
  });

  registerOperation(app, ctx, 'DELETE /users/{user_id}/refresh-tokens', ({ params }) => {
    revoke(state.user(params['user_id'] ?? ''), 'refresh_tokens');
    return { status: 202 };
  });

  registerOperation(app, ctx, 'POST /users/{id}/revoke-access', ({ params, body }) => {
    const user = state.user(params['id'] ?? '');
    const b = isRecord(body) ? body : {};
    const options: { sessionId?: string; preserveRefreshTokens?: boolean } = {};
    if (typeof b['session_id'] === 'string') options.sessionId = b['session_id'];
    if (typeof b['preserve_refresh_tokens'] === 'boolean') options.preserveRefreshTokens = b['preserve_refresh_tokens'];
    revokeAccess(user, options);
    return { status: 202 };
  });
}
