/**
 * Group membership: `PUT` and `DELETE /api/v1/groups/{groupId}/users/{userId}` (204, idempotent) and the
 * paged member list `GET /api/v1/groups/{groupId}/users`.
 */
import type { FastifyInstance } from 'fastify';
import { timestamp, type OktaEmulatorContext } from '../context.js';
import { notFound } from '../errors.js';
import { pageOf } from '../pagination.js';
import { registerOktaRoute } from '../route.js';
import type { OktaUserRecord } from '../state.js';
import { userView } from '../views.js';
import { requireGroup } from './groups.js';

/** Okta's default and maximum page size for group members. */
const MEMBER_PAGE = { defaultLimit: 1000, maxLimit: 1000 };

/** Registers the membership routes. */
export function registerGroupMemberRoutes(app: FastifyInstance, ctx: OktaEmulatorContext): void {
  const member = '/api/v1/groups/{groupId}/users/{userId}';
  registerOktaRoute(app, ctx, 'PUT', member, 'groups', (req) => {
    const group = requireGroup(ctx, req.params['groupId'] ?? '');
    const userId = req.params['userId'] ?? '';
    // Membership takes a user id only, not a login.
    if (!ctx.state.users.has(userId)) throw notFound(userId, 'User');
    if (!group.members.has(userId)) {
      group.members.add(userId);
      group.lastMembershipUpdated = timestamp(ctx);
    }
    return { status: 204 };
  });
  registerOktaRoute(app, ctx, 'DELETE', member, 'groups', (req) => {
    const group = requireGroup(ctx, req.params['groupId'] ?? '');
    const userId = req.params['userId'] ?? '';
    if (!ctx.state.users.has(userId)) throw notFound(userId, 'User');
    if (group.members.delete(userId)) group.lastMembershipUpdated = timestamp(ctx);
    return { status: 204 };
  });
  registerOktaRoute(app, ctx, 'GET', '/api/v1/groups/{groupId}/users', 'groups', (req) => {
    const group = requireGroup(ctx, req.params['groupId'] ?? '');
    const members = [...group.members]
      .map((id) => ctx.state.users.get(id))
      .filter((u): u is OktaUserRecord => u !== undefined);
    const page = pageOf(members, req.url, { seqOf: (u) => u.seq, ...MEMBER_PAGE });
    return { status: 200, body: page.items.map((u) => userView(u, req.origin)), headers: { link: page.link } };
  });
}
