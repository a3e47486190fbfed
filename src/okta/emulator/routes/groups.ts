/**
 * `/api/v1/groups`: create an `OKTA_GROUP` (names are unique), list with `q` (name prefix), `search` /
 * `filter` and cursor paging, get and delete (developer.okta.com/docs/reference/api/groups). Only
 * `OKTA_GROUP` and `APP_GROUP` groups can be deleted ("Remove Group": "Removes a group of `OKTA_GROUP` or
 * `APP_GROUP` type"; the documented refusal is 403): deleting `Everyone` is 403 E0000006.
 */
import type { FastifyInstance } from 'fastify';
import { timestamp, type OktaEmulatorContext } from '../context.js';
import { accessDenied, alreadyExists, notFound, validationFailed } from '../errors.js';
import { matchesFilter, parseOktaFilter, parseRestrictedFilter, readPath, type OktaFilter } from '../filter.js';
import { newGroupId } from '../ids.js';
import { pageOf } from '../pagination.js';
import { registerOktaRoute, type OktaRequest } from '../route.js';
import type { OktaGroupRecord } from '../state.js';
import { groupView } from '../views.js';

/** Attributes the `filter` parameter accepts for groups (the SDK's listGroups documentation). */
const FILTERABLE = ['id', 'type', 'lastUpdated', 'lastMembershipUpdated'];
/** Okta's default and maximum page size for groups. */
const GROUP_PAGE = { defaultLimit: 10_000, maxLimit: 10_000 };

/** A group by id, or Okta's 404. */
export function requireGroup(ctx: OktaEmulatorContext, id: string): OktaGroupRecord {
  const group = ctx.state.groups.get(id);
  if (!group) throw notFound(id, 'UserGroup');
  return group;
}

function createGroup(ctx: OktaEmulatorContext, req: OktaRequest) {
  const body = typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};
  const profile = typeof body['profile'] === 'object' && body['profile'] !== null ? (body['profile'] as Record<string, unknown>) : {};
  const name = profile['name'];
  if (typeof name !== 'string' || name.trim() === '') throw validationFailed(['name: The field cannot be left blank']);
  if (ctx.state.groupByName(name)) throw alreadyExists('name');
  const description = profile['description'];
  const now = timestamp(ctx);
  const group: OktaGroupRecord = {
    id: newGroupId(),
    seq: ctx.state.nextSeq(),
    type: 'OKTA_GROUP',
    created: now,
    lastUpdated: now,
    lastMembershipUpdated: now,
    profile: typeof description === 'string' ? { name, description } : { name },
    members: new Set(),
  };
  ctx.state.groups.set(group.id, group);
  return { status: 200, body: groupView(group, req.origin) };
}

function listGroups(ctx: OktaEmulatorContext, req: OktaRequest) {
  const filters: OktaFilter[] = [];
  const filter = req.url.searchParams.get('filter');
  const search = req.url.searchParams.get('search');
  if (filter) filters.push(parseRestrictedFilter(filter, FILTERABLE));
  if (search) filters.push(parseOktaFilter(search));
  const q = req.url.searchParams.get('q')?.toLowerCase();
  const selected = [...ctx.state.groups.values()].filter((group) => {
    if (q !== undefined && !group.profile.name.toLowerCase().startsWith(q)) return false;
    const view = groupView(group, req.origin);
    return filters.every((f) => matchesFilter(f, (path) => readPath(view, path)));
  });
  const page = pageOf(selected, req.url, { seqOf: (g) => g.seq, ...GROUP_PAGE });
  return { status: 200, body: page.items.map((g) => groupView(g, req.origin)), headers: { link: page.link } };
}

/** Registers the group collection and single-group routes. */
export function registerGroupRoutes(app: FastifyInstance, ctx: OktaEmulatorContext): void {
  registerOktaRoute(app, ctx, 'POST', '/api/v1/groups', 'groups', (req) => createGroup(ctx, req));
  registerOktaRoute(app, ctx, 'GET', '/api/v1/groups', 'groups', (req) => listGroups(ctx, req));
  registerOktaRoute(app, ctx, 'GET', '/api/v1/groups/{groupId}', 'groups', (req) => ({
    status: 200,
    body: groupView(requireGroup(ctx, req.params['groupId'] ?? ''), req.origin),
  }));
  registerOktaRoute(app, ctx, 'DELETE', '/api/v1/groups/{groupId}', 'groups', (req) => {
    const group = requireGroup(ctx, req.params['groupId'] ?? '');
    if (group.type === 'BUILT_IN') throw accessDenied();
    ctx.state.groups.delete(group.id);
    return { status: 204 };
  });
}
