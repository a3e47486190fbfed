import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import * as repo from '../db/users.js';
import type { ScimContext, Rendered } from './context.js';
import { ScimError } from './errors.js';
import { assignedActive, etagOf, listResponse, userToResource } from './mapping.js';
import { checkVersion, expectedVersion } from './preconditions.js';
import { checkProjection, project, projectionIncludes } from './projection.js';
import type { ListQuery, Projection } from './query.js';
import { resolveAttribute, userResourceType as rt } from './registry.js';
import { coerceBody, patchResource, type RequestDialect } from './patching.js';
import { checkPatchPaths } from './limits.js';
import { cursorListResponse } from './paging.js';
import { normalizePatched, normalizeResource } from './resource.js';
import type { ScimResource } from './schemas/types.js';
import { keysetPage, listPage } from './sql/list.js';
import { mapStorageErrors } from './storage-errors.js';

/**
 * Splits a normalised User into the indexed columns and the stored document.
 *
 * `active` is kept in the document as the IdP left it — true, false, or null when it is unassigned (never
 * sent, sent as null, or removed by PATCH) — and is returned that way. The `active` column is what the
 * Auth0 sync and the Post-Login check act on: there an unassigned `active` counts as active (RFC 7643
 * §4.1.1 leaves it to the server), so a user the IdP provisioned and never deactivated is never blocked
 * by surprise; only an explicit `active: false` blocks.
 */
export function userFields(resource: ScimResource): repo.UserFields {
  const { active, ...rest } = resource;
  const data: ScimResource = { ...rest, active: active === undefined || active === null ? null : Boolean(active) };
  const emails = Array.isArray(data.emails) ? (data.emails as { value?: unknown; primary?: unknown }[]) : [];
  const email = (emails.find((e) => e.primary === true) ?? emails[0])?.value;
  return {
    userName: String(data.userName),
    externalId: typeof data.externalId === 'string' ? data.externalId : null,
    displayName: typeof data.displayName === 'string' ? data.displayName : null,
    // RFC 7643 §4.1.1 leaves a missing `active` to the server: a provisioned user is active until told otherwise.
    active: active === undefined || active === null ? true : Boolean(active),
    email: typeof email === 'string' ? email.toLowerCase() : null,
    data,
  };
}

/** The stored resource as PATCH sees it: without `active` when unassigned (see userFields). */
function storedUser(row: repo.UserWithGroups): ScimResource {
  const { active: _stored, ...data } = row.data as ScimResource;
  const active = assignedActive(row);
  return active === null ? data : { ...data, active };
}

function render(ctx: ScimContext, row: repo.UserWithGroups, projection: Projection): Rendered {
  return { resource: project(rt, userToResource(row, ctx.baseUrl), projection), etag: etagOf(row.version) };
}

function notFound(id: string): ScimError {
  return ScimError.notFound(`User ${id} not found`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else cannot name a user, so it is a 404 without a query. */
export function isResourceId(id: string): boolean {
  return UUID.test(id);
}

/**
 * False when this process has seen the tenant bound to Auth0 (final: bindings are not removed), so its
 * writes go straight to the transaction with the sync notification; otherwise a write tries the statement
 * that carries the binding check itself first (one statement for an unbound tenant, nothing for a bound one).
 */
export function mightBeUnbound(ctx: ScimContext): boolean {
  return ctx.events?.lastKnownBound?.(ctx.tenantId) !== true;
}

/**
 * Runs a single-user write: alone when the tenant does not sync to Auth0 (the benchmarked hot path),
 * or in a transaction together with the sync notification, so a rollback enqueues nothing. `unbound` is
 * the same write guarded by the binding in its own statement: tried first unless this process last saw
 * the tenant bound, it makes an unbound tenant's write one statement; undefined sends it the long way.
 */
async function writeUser<T>(
  ctx: ScimContext,
  write: (db: ScimContext['db']) => Promise<T & { id: string }>,
  unbound?: () => Promise<T | undefined>,
): Promise<T> {
  const { events } = ctx;
  if (!events) return write(ctx.db);
  if (unbound && mightBeUnbound(ctx)) {
    const written = await unbound();
    if (written !== undefined) return written;
  }
  if (!(await events.isBound(ctx.db, ctx.tenantId))) return write(ctx.db);
  return ctx.db.transaction().execute(async (trx) => {
    const row = await write(trx);
    await events.usersChanged(trx, ctx.tenantId, [row.id]);
    return row;
  });
}

export async function createUser(ctx: ScimContext, body: unknown, projection: Projection, dialect?: RequestDialect): Promise<Rendered> {
  checkProjection(rt, projection);
  const fields = userFields(normalizeResource(rt, coerceBody(rt, body, dialect), ctx.settings.limits));
  const id = uuidv7();
  const row = await writeUser(ctx, (db) => mapStorageErrors(repo.insertUser(db, ctx.tenantId, id, fields)),
    () => mapStorageErrors(repo.insertUserOfUnboundTenant(ctx.db, ctx.tenantId, id, fields)));
  return render(ctx, row, projection);
}

export async function getUser(ctx: ScimContext, id: string, projection: Projection): Promise<Rendered> {
  checkProjection(rt, projection);
  if (!isResourceId(id)) throw notFound(id);
  const row = await repo.findUser(ctx.db, ctx.tenantId, id, { groups: projectionIncludes(rt, projection, 'groups') });
  if (!row) throw notFound(id);
  return render(ctx, row, projection);
}

/** PUT (RFC 7644 §3.5.1): the body replaces every writable attribute; `If-Match` is honoured. */
export async function replaceUser(ctx: ScimContext, id: string, body: unknown, projection: Projection, ifMatch?: string, dialect?: RequestDialect): Promise<Rendered> {
  checkProjection(rt, projection);
  if (!isResourceId(id)) throw notFound(id);
  const fields = userFields(normalizeResource(rt, coerceBody(rt, body, dialect), ctx.settings.limits));
  const expected = expectedVersion(ifMatch);
  if (expected === undefined) {
    const row = await writeUser(ctx, async (db) => {
      const updated = await mapStorageErrors(repo.updateUser(db, ctx.tenantId, id, fields));
      if (!updated) throw notFound(id);
      return updated;
    }, () => mapStorageErrors(repo.updateUserOfUnboundTenant(ctx.db, ctx.tenantId, id, fields)));
    return render(ctx, row, projection);
  }
  return ctx.db.transaction().execute(async (trx) => {
    const current = await repo.findUser(trx, ctx.tenantId, id, { groups: false, forUpdate: true });
    if (!current) throw notFound(id);
    checkVersion(expected, current.version, `User ${id}`);
    const row = await mapStorageErrors(repo.updateUser(trx, ctx.tenantId, id, fields));
    if (!row) throw notFound(id);
    await notifyChanged(ctx, trx, [id]);
    return render(ctx, row, projection);
  });
}

/**
 * PATCH (RFC 7644 §3.5.2): every operation applies to the locked row in one transaction, or none does.
 * The patched resource is validated exactly like a PUT body before it is written.
 */
export async function patchUser(ctx: ScimContext, id: string, body: unknown, projection: Projection | undefined, ifMatch: string | undefined, dialect: RequestDialect): Promise<Rendered> {
  if (projection) checkProjection(rt, projection);
  if (!isResourceId(id)) throw notFound(id);
  checkPatchPaths(body, ctx.settings.limits);
  const expected = expectedVersion(ifMatch);
  return ctx.db.transaction().execute(async (trx) => {
    const current = await repo.findUser(trx, ctx.tenantId, id, { groups: false, forUpdate: true });
    if (!current) throw notFound(id);
    checkVersion(expected, current.version, `User ${id}`);
    const stored = storedUser(current);
    const { resource } = patchResource(rt, stored, id, body, dialect, ctx.settings.limits);
    const row = await mapStorageErrors(repo.updateUser(trx, ctx.tenantId, id, userFields(normalizePatched(rt, stored, resource, ctx.settings.limits))));
    if (!row) throw notFound(id);
    await notifyChanged(ctx, trx, [id]);
    // No body asked for (204): the ETag is still sent, so nothing is rendered but it.
    return projection ? render(ctx, row, projection) : { resource: {}, etag: etagOf(row.version) };
  });
}

/** Inside an already open transaction: tell the sync, when the tenant has one. */
async function notifyChanged(ctx: ScimContext, trx: ScimContext['db'], userIds: string[]): Promise<void> {
  if (ctx.events && (await ctx.events.isBound(trx, ctx.tenantId))) await ctx.events.usersChanged(trx, ctx.tenantId, userIds);
}

export async function deleteUser(ctx: ScimContext, id: string, ifMatch?: string): Promise<void> {
  if (!isResourceId(id)) throw notFound(id);
  const expected = expectedVersion(ifMatch);
  // The common case, an unbound tenant and no If-Match, is one statement instead of BEGIN + 3 + COMMIT.
  if (expected === undefined && mightBeUnbound(ctx) && (await repo.deleteUserOfUnboundTenant(ctx.db, ctx.tenantId, id))) return;
  await ctx.db.transaction().execute(async (trx) => {
    if (expected !== undefined) {
      const current = await repo.findUser(trx, ctx.tenantId, id, { groups: false, forUpdate: true });
      if (!current) throw notFound(id);
      checkVersion(expected, current.version, `User ${id}`);
    }
    const deleted = await repo.deleteUser(trx, ctx.tenantId, id);
    if (!deleted) throw notFound(id);
    if (ctx.events && (await ctx.events.isBound(trx, ctx.tenantId))) {
      await ctx.events.userDeleted(trx, ctx.tenantId, id, { userName: deleted.user_name, externalId: deleted.external_id, email: deleted.email });
    }
  });
}

/** The compared value when the query is exactly `userName eq "<string>"` (any spelling of the name), index paging. */
function userNameLookup(query: ListQuery): string | undefined {
  const f = query.filter;
  if (!f || f.op !== 'eq' || typeof f.compValue !== 'string' || query.sortBy !== undefined) return undefined;
  const resolved = resolveAttribute(rt, f.attrPath);
  if (!resolved || resolved.extension || resolved.subAttribute || resolved.attribute.name !== 'userName') return undefined;
  return f.compValue;
}

export async function listUsers(ctx: ScimContext, query: ListQuery): Promise<ScimResource> {
  checkProjection(rt, query);
  // The listed page's rows are aliased `u` (sql/list.ts); their groups are read only when returned.
  const groups = projectionIncludes(rt, query, 'groups') ? sql`${repo.groupsOf('u')} as groups` : undefined;
  if (query.cursor !== undefined) {
    return cursorListResponse(ctx, 'User', { ...query, cursor: query.cursor },
      (options) => keysetPage<repo.UserWithGroups>(ctx.db, 'users', rt, ctx.tenantId, options, groups),
      (row) => project(rt, userToResource(row, ctx.baseUrl), query));
  }
  const userName = userNameLookup(query);
  if (userName !== undefined) {
    // The IdPs' "does this user exist" probe (`userName eq "…"`) on every create: at most one row by the
    // unique index, so one fixed statement instead of the general page query with its total count.
    const row = await repo.findUserByName(ctx.db, ctx.tenantId, userName, { groups: projectionIncludes(rt, query, 'groups') });
    const total = row ? 1 : 0;
    const onPage = row && query.startIndex <= 1 && query.count > 0 ? [project(rt, userToResource(row, ctx.baseUrl), query)] : [];
    return listResponse(onPage, total, query.startIndex);
  }
  const page = await listPage<repo.UserWithGroups>(ctx.db, 'users', rt, ctx.tenantId, {
    filter: query.filter,
    sortBy: query.sortBy,
    sortOrder: query.sortOrder,
    startIndex: query.startIndex,
    count: query.count,
  }, groups);
  const resources = page.rows.map((row) => project(rt, userToResource(row, ctx.baseUrl), query));
  return listResponse(resources, page.total, query.startIndex);
}
