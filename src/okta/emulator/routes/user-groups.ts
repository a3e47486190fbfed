/**
 * `GET /api/v1/users/{userId}/groups`: the groups a user belongs to, `Everyone` included, in creation
 * order and cursor-paged like the group list (spec `listUserGroups`).
 */
import type { FastifyInstance } from 'fastify';
import type { OktaEmulatorContext } from '../context.js';
import { pageOf } from '../pagination.js';
import { registerOktaRoute } from '../route.js';
import { groupView } from '../views.js';
import { requireUser } from './users.js';

/** Page size of the list (Okta documents none for this call: the group list's). */
const USER_GROUP_PAGE = { defaultLimit: 10_000, maxLimit: 10_000 };

/** Registers the route. */
export function registerUserGroupRoutes(app: FastifyInstance, ctx: OktaEmulatorContext): void {
  registerOktaRoute(app, ctx, 'GET', '/api/v1/users/{userId}/groups', 'user', (req) => {
    const user = requireUser(ctx, req.params['userId'] ?? '');
    const page = pageOf(ctx.state.groupsOf(user.id), req.url, { seqOf: (g) => g.seq, ...USER_GROUP_PAGE });
    return { status: 200, body: page.items.map((g) => groupView(g, req.origin)), headers: { link: page.link } };
  });
}
