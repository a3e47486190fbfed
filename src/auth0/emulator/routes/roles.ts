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
import type { EmuRole } from '../types.js';
import { memberView, roleView } from '../views.js';

const MAX_ROLES_PER_TENANT = 1000;
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
