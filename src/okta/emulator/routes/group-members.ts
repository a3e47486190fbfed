/**
 * Group membership: `PUT` and `DELETE /api/v1/groups/{groupId}/users/{userId}` (204, idempotent) and the
 * paged member list `GET /api/v1/groups/{groupId}/users`. Okta keeps the membership of the built-in
 * `Everyone` group itself: assigning a user to it is 400 E0000060 "Unsupported operation."
 * (okta/terraform-provider-okta#903) and removing one is 403 E0000006 (okta/terraform-provider-okta#118:
 * BUILT_IN memberships "cannot be manipulated through the Okta API (even as SUPER_ADMIN)").
 */
import type { FastifyInstance } from 'fastify';
import { timestamp, type OktaEmulatorContext } from '../context.js';
import { accessDenied, notFound, unsupportedOperation } from '../errors.js';
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
    if (group.type === 'BUILT_IN') throw unsupportedOperation();
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
    if (group.type === 'BUILT_IN') throw accessDenied();
    if (group.members.delete(userId)) group.lastMembershipUpdated = timestamp(ctx);
    return { status: 204 };
  });
  registerOktaRoute(app, ctx, 'GET', '/api/v1/groups/{groupId}/users', 'groups', (req) => {
    const group = requireGroup(ctx, req.params['groupId'] ?? '');
    const members = ctx.state.memberIds(group)
      .map((id) => ctx.state.users.get(id))
      .filter((u): u is OktaUserRecord => u !== undefined);
    const page = pageOf(members, req.url, { seqOf: (u) => u.seq, ...MEMBER_PAGE });
    return { status: 200, body: page.items.map((u) => userView(u, req.origin)), headers: { link: page.link } };
  });
}
