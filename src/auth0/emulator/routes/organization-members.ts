/**
 * Organization members and member roles. At most 10 user ids per add-members request
 * (docs:/manage-users/organizations/configure-organizations/assign-members); at most 50 roles per member,
 * 409 "No more roles can be assigned to this organization member" (spec; …/add-member-roles). The
 * member list is eventually consistent (spec `GET /organizations/{id}/members`): with a consistency
 * delay set, additions show and removals disappear only after that delay.
 */
import type { FastifyInstance } from 'fastify';
import type { EmulatorContext } from '../context.js';
import { badRequest, conflict, invalidBody } from '../errors.js';
import { isRecord } from '../metadata.js';
import { paginate } from '../pagination.js';
import { registerOperation, requireScope } from '../route.js';
import type { EmuMembership, EmuOrganization } from '../types.js';
import { removeMember } from '../user-ops.js';
import { memberView, roleView } from '../views.js';

export const MAX_MEMBERS_PER_REQUEST = 10;
export const MAX_ROLES_PER_MEMBER = 50;

function stringList(body: unknown, key: string): string[] {
  const value = isRecord(body) ? body[key] : undefined;
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Members a list call sees now, given the consistency delay. */
export function visibleMembers(org: EmuOrganization, nowMs: number, delayMs: number): EmuMembership[] {
  if (delayMs <= 0) return [...org.members];
  const current = org.members.filter((m) => m.added_at + delayMs <= nowMs);
  const ghosts = org.removed_members.filter((r) => r.removed_at + delayMs > nowMs && r.member.added_at + delayMs <= nowMs);
  return [...current, ...ghosts.map((r) => r.member)];
}

export function registerOrganizationMemberRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { state } = ctx;

  const membership = (org: EmuOrganization, userId: string): EmuMembership => {
    const m = org.members.find((x) => x.user_id === userId);
    if (!m) throw badRequest('User is not a member of this organization.', 'inexistent_member');
    return m;
  };

  registerOperation(app, ctx, 'POST /organizations/{id}/members', ({ params, body }) => {
    const org = state.organization(params['id'] ?? '');
    const ids = stringList(body, 'members');
    if (ids.length > MAX_MEMBERS_PER_REQUEST) {
      throw invalidBody(`Payload validation error: 'Array is too long (${ids.length}), maximum ${MAX_MEMBERS_PER_REQUEST}' on property members.`);
    }
    const missing = ids.filter((id) => !state.users.has(id));
    if (missing.length) throw badRequest(`One or more users do not exist: ${missing.join(', ')}`, 'inexistent_user');
    const now = ctx.now();
    for (const id of ids) {
      // Adding an existing member is a no-op, as observed against Auth0 (research/auth0.md §7: unverified).
      if (org.members.some((m) => m.user_id === id)) continue;
      org.removed_members = org.removed_members.filter((r) => r.member.user_id !== id);
      org.members.push({ user_id: id, roles: [], added_at: now });
    }
    return { status: 204 };
  });

  registerOperation(app, ctx, 'DELETE /organizations/{id}/members', ({ params, body }) => {
    const org = state.organization(params['id'] ?? '');
    for (const id of stringList(body, 'members')) removeMember(org, id, ctx.now());
    return { status: 204 };
  });

  registerOperation(app, ctx, 'GET /organizations/{id}/members', ({ params, query, scopes }) => {
    const org = state.organization(params['id'] ?? '');
    const fields = typeof query['fields'] === 'string' ? query['fields'].split(',') : [];
    const include = query['include_fields'] !== false;
    const withRoles = fields.includes('roles') && include;
    // Roles in the member list need the member-roles read scope as well (spec description).
    if (withRoles) requireScope(scopes, ['read:organization_member_roles']);
    const members = visibleMembers(org, ctx.now(), ctx.faults.memberListDelayMs).map((m) => {
      const view = memberView(state.users.get(m.user_id), m.user_id);
      if (withRoles) {
        view['roles'] = m.roles.map((id) => state.roles.get(id)).filter((r) => r !== undefined).map((r) => ({ id: r.id, name: r.name }));
      }
      if (fields.length === 0) return view;
      return Object.fromEntries(Object.entries(view).filter(([k]) => fields.includes(k) === include));
    });
    return { status: 200, body: paginate(members, query, 'members', { idOf: (m) => String(m['user_id']) }) };
  });

  registerOperation(app, ctx, 'GET /organizations/{id}/members/{user_id}/roles', ({ params, query }) => {
    const org = state.organization(params['id'] ?? '');
    const member = membership(org, params['user_id'] ?? '');
    const roles = member.roles.map((id) => state.roles.get(id)).filter((r) => r !== undefined).map(roleView);
    return { status: 200, body: paginate(roles, query, 'roles') };
  });

  registerOperation(app, ctx, 'POST /organizations/{id}/members/{user_id}/roles', ({ params, body }) => {
    const org = state.organization(params['id'] ?? '');
    const member = membership(org, params['user_id'] ?? '');
    const ids = stringList(body, 'roles');
    const missing = ids.filter((id) => !state.roles.has(id));
    if (missing.length) throw badRequest(`One or more of the specified roles do not exist: ${missing.join(', ')}`, 'inexistent_role');
    const next = [...new Set([...member.roles, ...ids])];
    if (next.length > MAX_ROLES_PER_MEMBER) {
      throw conflict('No more roles can be assigned to this organization member', 'too_many_roles');
    }
    member.roles = next;
    return { status: 204 };
  });

  registerOperation(app, ctx, 'DELETE /organizations/{id}/members/{user_id}/roles', ({ params, body }) => {
    const org = state.organization(params['id'] ?? '');
    const member = membership(org, params['user_id'] ?? '');
    const ids = new Set(stringList(body, 'roles'));
    member.roles = member.roles.filter((r) => !ids.has(r));
    return { status: 204 };
  });
}
