/**
 * `/api/v2/users`: create (database connections only — spec `POST /users`; research/auth0.md §0.1),
 * list/search, by email, get, update (first-level metadata merge), delete.
 */
import type { FastifyInstance } from 'fastify';
import type { EmulatorContext } from '../context.js';
import { badRequest, conflict, invalidBody, invalidQuery } from '../errors.js';
import { newDatabaseUserId } from '../ids.js';
import { checkMetadataKeys, isRecord, mergeFirstLevel } from '../metadata.js';
import { paginate } from '../pagination.js';
import { hashPassword } from '../passwords.js';
import { registerOperation } from '../route.js';
import type { EmuUser } from '../types.js';
import { buildUser, checkPasswordStrength, deleteUser, primaryConnection, userIdFor } from '../user-ops.js';
import { project, userView } from '../views.js';

function str(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  return typeof v === 'string' ? v : undefined;
}

function bool(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  return typeof v === 'boolean' ? v : undefined;
}

/** Dotted lookup for the small `q` subset the emulator supports (`app_metadata.tenant:"x"`). */
function lookup(user: EmuUser, path: string): unknown[] {
  if (path === 'identities.connection') return user.identities.map((i) => i.connection);
  if (path === 'identities.user_id') return user.identities.map((i) => i.user_id);
  let current: unknown = userView(user);
  for (const part of path.split('.')) current = isRecord(current) ? current[part] : undefined;
  return [current];
}

/**
 * A tiny Lucene subset for `GET /users?q=`: `field:"value"` or `field:value` terms joined by AND
 * (implicit or explicit). Anything else is answered with 400 rather than silently ignored.
 */
function searchFilter(q: string): (u: EmuUser) => boolean {
  const terms = q.split(/\s+AND\s+|\s+(?=[\w.]+:)/).map((t) => t.trim()).filter(Boolean);
  const tests = terms.map((term) => {
    const m = /^([\w.]+):(?:"([^"]*)"|(\S+))$/.exec(term);
    if (!m?.[1]) throw invalidQuery(`The emulator supports only field:"value" terms joined by AND in q (got: ${term})`);
    const field = m[1];
    const value = (m[2] ?? m[3] ?? '').toLowerCase();
    return (u: EmuUser) => lookup(u, field).some((v) => v !== undefined && v !== null && String(v).toLowerCase() === value);
  });
  return (u) => tests.every((t) => t(u));
}

export function registerUserRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { state } = ctx;

  registerOperation(app, ctx, 'POST /users', ({ body, clientId }) => {
    const b = isRecord(body) ? body : {};
    const connectionName = str(b, 'connection') ?? '';
    const connection = state.connectionByName(connectionName);
    if (!connection) throw badRequest('The connection does not exist.', 'inexistent_connection');
    if (connection.strategy !== 'auth0') {
      // Only database (and passwordless) connections accept user creation (spec POST /users).
      throw badRequest('Connection is not supported for this operation.', 'operation_not_supported');
    }
    if (!connection.enabled_clients.includes(clientId)) {
      throw badRequest(
        `Connection must be enabled for this client to perform single user creation and signup operations (client_id: ${clientId} - connection: ${connection.name})`,
        'invalid_body',
      );
    }
    const password = str(b, 'password');
    if (password === undefined) throw invalidBody("Payload validation error: 'Missing required property: password'.");
    checkPasswordStrength(password);
    const rawEmail = str(b, 'email');
    if (rawEmail === undefined) throw invalidBody("Payload validation error: 'Missing required property: email'.");
    // Auth0 stores database-connection emails lower-case (spec GET /users-by-email).
    const email = rawEmail.toLowerCase();
    for (const key of ['app_metadata', 'user_metadata']) checkMetadataKeys(b[key], key);
    const localId = str(b, 'user_id') ?? newDatabaseUserId();
    const duplicate = [...state.users.values()].some(
      (u) => u.user_id === userIdFor(connection, localId) ||
        (u.email === email && u.identities.some((i) => i.connection === connection.name)),
    );
    if (duplicate) throw conflict('The user already exists.', 'auth0_idp_error');
    const user = buildUser(
      {
        connection,
        localId,
        email,
        email_verified: bool(b, 'email_verified'),
        username: str(b, 'username'),
        phone_number: str(b, 'phone_number'),
        phone_verified: bool(b, 'phone_verified'),
        name: str(b, 'name'),
        nickname: str(b, 'nickname'),
        given_name: str(b, 'given_name'),
        family_name: str(b, 'family_name'),
        picture: str(b, 'picture'),
        blocked: bool(b, 'blocked'),
        app_metadata: isRecord(b['app_metadata']) ? b['app_metadata'] : {},
        user_metadata: isRecord(b['user_metadata']) ? b['user_metadata'] : {},
      },
      new Date(ctx.now()).toISOString(),
    );
    user.password_hash = hashPassword(password);
    state.users.set(user.user_id, user);
    return { status: 201, body: userView(user) };
  });

  registerOperation(app, ctx, 'GET /users', ({ query }) => {
    let users = [...state.users.values()];
    const connection = typeof query['connection'] === 'string' ? query['connection'] : undefined;
    if (connection) users = users.filter((u) => u.identities.some((i) => i.connection === connection));
    if (typeof query['q'] === 'string' && query['q'].trim() !== '') users = users.filter(searchFilter(query['q']));
    const views = users.map((u) => project(userView(u), query));
    return { status: 200, body: paginate(views, query, 'users', { withLength: true }) };
  });

  registerOperation(app, ctx, 'GET /users-by-email', ({ query }) => {
    const email = String(query['email']);
    const users = [...state.users.values()].filter((u) => u.email === email);
    return { status: 200, body: users.map((u) => project(userView(u), query)) };
  });

  registerOperation(app, ctx, 'GET /users/{id}', ({ params, query }) => ({
    status: 200,
    body: project(userView(state.user(params['id'] ?? '')), query),
  }));

  registerOperation(app, ctx, 'PATCH /users/{id}', ({ params, body }) => {
    const user = state.user(params['id'] ?? '');
    const b = isRecord(body) ? body : {};
    const isDatabase = primaryConnection(state, user)?.strategy === 'auth0';
    if (!isDatabase) {
      // Enterprise profiles come from the IdP: credentials and verification cannot be set (spec description).
      for (const key of ['email', 'username', 'password', 'phone_number', 'email_verified', 'verify_email']) {
        if (b[key] !== undefined) throw badRequest(`Cannot update ${key} for non-database user`, 'operation_not_supported');
      }
    }
    for (const key of ['app_metadata', 'user_metadata'] as const) {
      const patch = b[key];
      if (patch === undefined) continue;
      checkMetadataKeys(patch, key);
      if (patch === null) user[key] = {};
      else if (isRecord(patch)) user[key] = mergeFirstLevel(user[key], patch);
    }
    const password = str(b, 'password');
    if (password !== undefined) {
      checkPasswordStrength(password);
      user.password_hash = hashPassword(password);
      // "Resetting a password via the Management API also removes the admin block"
      // (docs:/manage-users/user-accounts/block-and-unblock-users).
      if (b['blocked'] === undefined) delete user.blocked;
    }
    const rootKeys = ['email', 'email_verified', 'username', 'phone_number', 'phone_verified', 'given_name',
      'family_name', 'name', 'nickname', 'picture', 'blocked'] as const;
    const record = user as unknown as Record<string, unknown>;
    for (const key of rootKeys) {
      if (!(key in b)) continue;
      const value = b[key];
      // Setting a supported attribute to null unsets it (spec UpdateUserRequestContent).
      if (value === null) delete record[key];
      else record[key] = key === 'email' && typeof value === 'string' ? value.toLowerCase() : value;
    }
    user.updated_at = new Date(ctx.now()).toISOString();
    return { status: 200, body: userView(user) };
  });

  // The spec documents no 404 for DELETE /users/{id}: deleting a missing user is a 204.
  registerOperation(app, ctx, 'DELETE /users/{id}', ({ params }) => {
    deleteUser(state, params['id'] ?? '', ctx.now());
    return { status: 204 };
  });
}
