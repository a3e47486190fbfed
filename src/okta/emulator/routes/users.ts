/**
 * `/api/v1/users`: create (with `activate`), get by id or login, list with `filter` / `search` / `q`
 * and cursor paging, partial profile update (`POST /api/v1/users/{id}`), full replacement
 * (`PUT /api/v1/users/{id}`: "All profile properties must be specified … Any property not specified in
 * the request is deleted") and delete, which deactivates a user that is not yet DEPROVISIONED and deletes
 * one that is (developer.okta.com/docs/reference/api/users).
 */
import type { FastifyInstance } from 'fastify';
import { timestamp, type OktaEmulatorContext } from '../context.js';
import { alreadyExists, notFound, validationFailed } from '../errors.js';
import { filterPaths, matchesFilter, parseOktaFilter, parseRestrictedFilter, readPath, type OktaFilter } from '../filter.js';
import { newUserId } from '../ids.js';
import { deleteEffect, statusOnCreate } from '../lifecycle.js';
import { pageOf } from '../pagination.js';
import { asProfile, profileProblems } from '../profile.js';
import { registerOktaRoute, type OktaRequest } from '../route.js';
import type { OktaUserRecord } from '../state.js';
import { userView } from '../views.js';

/** Attributes the `filter` parameter accepts (everything else needs `search`). */
const FILTERABLE = ['id', 'status', 'created', 'lastUpdated', 'activated', 'statusChanged',
  'profile.login', 'profile.email', 'profile.firstName', 'profile.lastName'];
/** Okta's default and maximum page size for users. */
const USER_PAGE = { defaultLimit: 200, maxLimit: 200 };

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Looks a user up by id or login, or throws Okta's 404 naming what was asked for. */
export function requireUser(ctx: OktaEmulatorContext, idOrLogin: string): OktaUserRecord {
  const user = ctx.state.findUser(idOrLogin);
  if (!user) throw notFound(idOrLogin, 'User');
  return user;
}

function queryFlag(url: URL, name: string, fallback: boolean): boolean {
  const value = url.searchParams.get(name);
  return value === null ? fallback : value.toLowerCase() !== 'false';
}

/** The selection a list request asks for, and whether it names `status` (which lifts the DEPROVISIONED exclusion). */
function listPredicate(url: URL): { matches: (user: OktaUserRecord, origin: string) => boolean; mentionsStatus: boolean } {
  const filters: OktaFilter[] = [];
  const filter = url.searchParams.get('filter');
  const search = url.searchParams.get('search');
  if (filter) filters.push(parseRestrictedFilter(filter, FILTERABLE));
  if (search) filters.push(parseOktaFilter(search));
  const q = url.searchParams.get('q')?.toLowerCase();
  const mentionsStatus = filters.some((f) => filterPaths(f).includes('status'));
  return {
    mentionsStatus,
    matches: (user, origin) => {
      const view = userView(user, origin);
      if (!filters.every((f) => matchesFilter(f, (path) => readPath(view, path)))) return false;
      if (q === undefined) return true;
      // `q` is a prefix match on the names, email and login (Okta's auto-complete lookup).
      return ['login', 'email', 'firstName', 'lastName'].some((attr) => {
        const value = user.profile[attr];
        return typeof value === 'string' && value.toLowerCase().startsWith(q);
      });
    },
  };
}

function createUser(ctx: OktaEmulatorContext, req: OktaRequest) {
  const body = record(req.body);
  const profile = asProfile(body['profile']);
  if (!profile) throw validationFailed(['profile: The field cannot be left blank']);
  const problems = profileProblems(profile);
  if (problems.length > 0) throw validationFailed(problems);
  if (ctx.state.userByLogin(String(profile['login']))) throw alreadyExists('login');
  const groupIds = Array.isArray(body['groupIds']) ? body['groupIds'].map(String) : [];
  const groups = groupIds.map((id) => {
    const group = ctx.state.groups.get(id);
    if (!group) throw validationFailed([`groupIds: Group ${id} does not exist`]);
    return group;
  }).filter((group) => group.type !== 'BUILT_IN'); // every user is in Everyone anyway
  const password = record(record(body['credentials'])['password']);
  const now = timestamp(ctx);
  const credentials = { hasPassword: typeof password['value'] === 'string', federated: queryFlag(req.url, 'provider', false) };
  const status = statusOnCreate(queryFlag(req.url, 'activate', true), credentials);
  const user: OktaUserRecord = {
    id: newUserId(),
    seq: ctx.state.nextSeq(),
    status,
    created: now,
    activated: status === 'STAGED' ? null : now,
    statusChanged: status === 'STAGED' ? null : now,
    lastUpdated: now,
    passwordChanged: credentials.hasPassword ? now : null,
    profile,
    ...credentials,
  };
  ctx.state.addUser(user, now);
  for (const group of groups) {
    group.members.add(user.id);
    group.lastMembershipUpdated = now;
  }
  return { status: 200, body: userView(user, req.origin) };
}

/** Partial update: given profile attributes replace stored ones, the others stay. */
function updateUser(ctx: OktaEmulatorContext, req: OktaRequest) {
  const user = requireUser(ctx, req.params['userId'] ?? '');
  const changes = asProfile(record(req.body)['profile']) ?? {};
  const profile = { ...user.profile, ...changes };
  const problems = profileProblems(profile);
  if (problems.length > 0) throw validationFailed(problems);
  const holder = ctx.state.userByLogin(String(profile['login']));
  if (holder && holder.id !== user.id) throw alreadyExists('login');
  user.profile = profile;
  user.lastUpdated = timestamp(ctx);
  return { status: 200, body: userView(user, req.origin) };
}

/**
 * Full replacement: the given profile becomes the whole profile and is validated as on create; without
 * `profile` only the credentials change. `credentials.password.value` sets a password.
 */
function replaceUser(ctx: OktaEmulatorContext, req: OktaRequest) {
  const user = requireUser(ctx, req.params['userId'] ?? '');
  const body = record(req.body);
  const profile = 'profile' in body ? asProfile(body['profile']) : { ...user.profile };
  if (!profile) throw validationFailed(['profile: The field cannot be left blank']);
  const problems = profileProblems(profile);
  if (problems.length > 0) throw validationFailed(problems);
  const holder = ctx.state.userByLogin(String(profile['login']));
  if (holder && holder.id !== user.id) throw alreadyExists('login');
  const now = timestamp(ctx);
  user.profile = profile;
  if (typeof record(record(body['credentials'])['password'])['value'] === 'string') {
    user.hasPassword = true;
    user.passwordChanged = now;
  }
  user.lastUpdated = now;
  return { status: 200, body: userView(user, req.origin) };
}

function deleteUser(ctx: OktaEmulatorContext, req: OktaRequest) {
  const user = requireUser(ctx, req.params['userId'] ?? '');
  const now = timestamp(ctx);
  if (deleteEffect(user.status) === 'delete') {
    ctx.state.deleteUser(user.id, now);
  } else {
    user.status = 'DEPROVISIONED';
    user.statusChanged = now;
    user.lastUpdated = now;
  }
  return { status: 204 };
}

/** Registers the user collection and single-user routes. */
export function registerUserRoutes(app: FastifyInstance, ctx: OktaEmulatorContext): void {
  registerOktaRoute(app, ctx, 'POST', '/api/v1/users', 'users', (req) => createUser(ctx, req));
  registerOktaRoute(app, ctx, 'GET', '/api/v1/users', 'users', (req) => {
    const { matches, mentionsStatus } = listPredicate(req.url);
    // Okta leaves DEPROVISIONED users out of lists unless the expression asks about status.
    const selected = [...ctx.state.users.values()].filter(
      (u) => (mentionsStatus || u.status !== 'DEPROVISIONED') && matches(u, req.origin),
    );
    const page = pageOf(selected, req.url, { seqOf: (u) => u.seq, ...USER_PAGE });
    return { status: 200, body: page.items.map((u) => userView(u, req.origin)), headers: { link: page.link } };
  });
  registerOktaRoute(app, ctx, 'GET', '/api/v1/users/{userId}', 'user', (req) => ({
    status: 200,
    body: userView(requireUser(ctx, req.params['userId'] ?? ''), req.origin),
  }));
  registerOktaRoute(app, ctx, 'POST', '/api/v1/users/{userId}', 'user', (req) => updateUser(ctx, req));
  registerOktaRoute(app, ctx, 'PUT', '/api/v1/users/{userId}', 'user', (req) => replaceUser(ctx, req));
  registerOktaRoute(app, ctx, 'DELETE', '/api/v1/users/{userId}', 'user', (req) => deleteUser(ctx, req));
}
