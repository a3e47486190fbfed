/**
 * Tenant roles: list with `name_filter` (case-insensitive, spec), create (200 per spec; 409 "The role
 * already exists."), get, update, delete, and role users. At most 1,000 roles per tenant
 * (entity-limit-policy).
 */
import type { FastifyInstance } from 'fastify';
import type { EmulatorContext } from '../context.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { newRoleId } from '../ids.js';
import { isRecord } from '../metadata.js';
import { paginate } from '../pagination.js';
import { registerOperation } from '../route.js';
import type { EmuPermission, EmuRole } from '../types.js';
import { memberView, roleView } from '../views.js';

const MAX_ROLES_PER_TENANT = 1000;
/** research/auth0.md, entity limits: permissions/role 1,000. */
const MAX_PERMISSIONS_PER_ROLE = 1000;
const MAX_ROLES_PER_USER = 50;

export function registerRoleRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { state } = ctx;
  const nameTaken = (name: string, except?: string): boolean =>
    [...state.roles.values()].some((r) => r.id !== except && r.name.toLowerCase() === name.toLowerCase());

  registerOperation(app, ctx, 'GET /roles', ({ query }) => {
    const filter = typeof query['name_filter'] === 'string' ? query['name_filter'].toLowerCase() : '';
    const roles = [...state.roles.values()].filter((r) => r.name.toLowerCase().includes(filter)).map(roleView);
    return { status: 200, body: paginate(roles, query, 'roles') };
  });

  registerOperation(app, ctx, 'POST /roles', ({ body }) => {
    const b = isRecord(body) ? body : {};
    const name = String(b['name']);
    if (nameTaken(name)) throw conflict('The role already exists.', 'role_conflict');
    if (state.roles.size >= MAX_ROLES_PER_TENANT) throw badRequest('The maximum number of roles has been reached.', 'too_many_roles');
    const role: EmuRole = { id: newRoleId(), name, description: typeof b['description'] === 'string' ? b['description'] : '' };
    state.roles.set(role.id, role);
    return { status: 200, body: roleView(role) };
  });

  registerOperation(app, ctx, 'GET /roles/{id}', ({ params }) => ({ status: 200, body: roleView(state.role(params['id'] ?? '')) }));

  registerOperation(app, ctx, 'PATCH /roles/{id}', ({ params, body }) => {
    const role = state.role(params['id'] ?? '');
    const b = isRecord(body) ? body : {};
    if (typeof b['name'] === 'string') {
      if (nameTaken(b['name'], role.id)) throw conflict('The role already exists.', 'role_conflict');
      role.name = b['name'];
    }
    if (typeof b['description'] === 'string') role.description = b['description'];
    return { status: 200, body: roleView(role) };
  });

  registerOperation(app, ctx, 'DELETE /roles/{id}', ({ params }) => {
    const role = state.role(params['id'] ?? '');
    state.roles.delete(role.id);
    for (const u of state.users.values()) u.roles = u.roles.filter((r) => r !== role.id);
    for (const o of state.organizations.values()) for (const m of o.members) m.roles = m.roles.filter((r) => r !== role.id);
    // The spec documents 200 (not 204) for DELETE /roles/{id}.
    return { status: 200 };
  });

  const permissionsIn = (body: unknown): EmuPermission[] =>
    (isRecord(body) && Array.isArray(body['permissions']) ? body['permissions'] : []).filter(isRecord).map((p) => ({
      resource_server_identifier: String(p['resource_server_identifier']),
      permission_name: String(p['permission_name']),
    }));
  const samePermission = (a: EmuPermission, b: EmuPermission): boolean =>
    a.resource_server_identifier === b.resource_server_identifier && a.permission_name === b.permission_name;

  registerOperation(app, ctx, 'GET /roles/{id}/permissions', ({ params, query }) => {
    const role = state.role(params['id'] ?? '');
    const permissions = (role.permissions ?? []).map((p) => {
      const api = state.resourceServerByIdentifier(p.resource_server_identifier);
      const description = api?.scopes.find((s) => s.value === p.permission_name)?.description;
      return { ...p, resource_server_name: api?.name ?? p.resource_server_identifier, ...(description ? { description } : {}) };
    });
    return { status: 200, body: paginate(permissions, query, 'permissions') };
  });

  registerOperation(app, ctx, 'POST /roles/{id}/permissions', ({ params, body }) => {
    const role = state.role(params['id'] ?? '');
    const wanted = permissionsIn(body);
    // A permission must be one the API defines (its scopes), as in the dashboard's picker.
    for (const p of wanted) {
      const api = state.resourceServerByIdentifier(p.resource_server_identifier);
      if (!api) throw notFound(`Resource server not found: ${p.resource_server_identifier}`, 'inexistent_resource_server');
      if (!api.scopes.some((s) => s.value === p.permission_name)) {
        throw badRequest(`Permission not found: ${p.permission_name} (resource server: ${p.resource_server_identifier})`, 'invalid_body');
      }
    }
    const held = role.permissions ?? [];
    const added = wanted.filter((p, i) => !held.some((h) => samePermission(h, p)) && wanted.findIndex((q) => samePermission(p, q)) === i);
    if (held.length + added.length > MAX_PERMISSIONS_PER_ROLE) throw badRequest(`A role cannot have more than ${MAX_PERMISSIONS_PER_ROLE} permissions`, 'too_many_permissions');
    role.permissions = [...held, ...added];
    return { status: 201 };
  });

  registerOperation(app, ctx, 'DELETE /roles/{id}/permissions', ({ params, body }) => {
    const role = state.role(params['id'] ?? '');
    const removed = permissionsIn(body);
    role.permissions = (role.permissions ?? []).filter((p) => !removed.some((r) => samePermission(p, r)));
    return { status: 200 };
  });

  registerOperation(app, ctx, 'GET /roles/{id}/users', ({ params, query }) => {
    const role = state.role(params['id'] ?? '');
    const users = [...state.users.values()].filter((u) => u.roles.includes(role.id)).map((u) => memberView(u, u.user_id));
    return { status: 200, body: paginate(users, query, 'users', { idOf: (u) => String(u['user_id']) }) };
  });

  registerOperation(app, ctx, 'POST /roles/{id}/users', ({ params, body }) => {
    const role = state.role(params['id'] ?? '');
    const ids = isRecord(body) && Array.isArray(body['users']) ? body['users'].filter((u): u is string => typeof u === 'string') : [];
    const missing = ids.filter((id) => !state.users.has(id));
    if (missing.length) throw notFound(`One or more users do not exist: ${missing.join(', ')}`, 'inexistent_user');
    for (const id of ids) {
      const user = state.user(id);
      if (user.roles.includes(role.id)) continue;
      if (user.roles.length >= MAX_ROLES_PER_USER) throw badRequest(`A user cannot have more than ${MAX_ROLES_PER_USER} roles`, 'too_many_roles');
      user.roles.push(role.id);
    }
    return { status: 200 };
  });
}
