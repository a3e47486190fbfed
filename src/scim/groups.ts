import { sql, type Transaction } from 'kysely';
import { isDeepStrictEqual } from 'node:util';
import { v7 as uuidv7 } from 'uuid';
import { usersUnderGroups } from '../db/directory.js';
import * as repo from '../db/groups.js';
import type { Database, MemberType } from '../db/schema.js';
import type { ScimContext, Rendered } from './context.js';
import { ScimError } from './errors.js';
import { etagOf, groupToResource, listResponse } from './mapping.js';
import { checkVersion, expectedVersion } from './preconditions.js';
import { checkProjection, project, projectionIncludes } from './projection.js';
import type { ListQuery, Projection } from './query.js';
import { groupResourceType as rt } from './registry.js';
import type { MemberOp } from './patch.js';
import { coerceBody, patchResource, type RequestDialect } from './patching.js';
import { checkPatchPaths } from './limits.js';
import { cursorListResponse } from './paging.js';
import { normalizePatched, normalizeResource } from './resource.js';
import type { ScimResource } from './schemas/types.js';
import { keysetPage, listPage } from './sql/list.js';
import { mapStorageErrors } from './storage-errors.js';
import { isResourceId, mightBeUnbound } from './users.js';

/** A normalised Group split into its columns, its stored document and its requested members. */
interface GroupInput {
  readonly fields: repo.GroupFields;
  /** Undefined when the body has no `members` key at all (membership is then left as it is). */
  readonly memberIds?: string[];
}

function groupInput(body: unknown, limits: ScimContext['settings']['limits'], dialect?: RequestDialect): GroupInput {
  const { members, ...data } = normalizeResource(rt, coerceBody(rt, body, dialect), limits);
  const fields: repo.GroupFields = {
    displayName: String(data.displayName),
    externalId: typeof data.externalId === 'string' ? data.externalId : null,
    data,
  };
  if (members === undefined && !hasMembersKey(body)) return { fields };
  const list = Array.isArray(members) ? (members as { value?: unknown }[]) : [];
  const ids = new Set<string>();
  for (const m of list) {
    if (typeof m.value !== 'string') throw ScimError.invalidValue('Every member needs a "value" with the member\'s id');
    ids.add(m.value.toLowerCase());
  }
  return { fields, memberIds: [...ids] };
}

/** `"members": []` and `"members": null` both mean "no members" — distinct from leaving the key out. */
function hasMembersKey(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Object.keys(body).some((k) => k.toLowerCase() === 'members');
}

/**
 * Checks that every id names a user or group of this tenant (one query) and returns them typed.
 * An unknown member is the client's mistake: 400, never 500 (Entra retries 500s forever).
 */
export async function resolveMemberIds(trx: Transaction<Database>, tenantId: string, groupId: string, ids: readonly string[]): Promise<Map<string, MemberType>> {
  const malformed = ids.filter((id) => !isResourceId(id));
  if (malformed.length > 0) throw ScimError.invalidValue(`Unknown member id(s): ${preview(malformed)}`);
  if (ids.includes(groupId)) throw ScimError.invalidValue('A group cannot be a member of itself');
  const found = await repo.resolveMembers(trx, tenantId, ids);
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length > 0) throw ScimError.invalidValue(`Unknown member id(s): ${preview(missing)}`);
  return found;
}

/**
 * Adds members in one statement; when some ids name nothing in the tenant the request is a 400 and the
 * transaction (with the partial insert) rolls back. Returns the members that were not in the group yet.
 */
async function addMembersChecked(trx: Transaction<Database>, tenantId: string, groupId: string, ids: readonly string[]): Promise<string[]> {
  requireResourceIds(ids);
  if (ids.includes(groupId)) throw ScimError.invalidValue('A group cannot be a member of itself');
  const { found, added } = await mapStorageErrors(repo.addExistingMembers(trx, tenantId, groupId, ids));
  if (found < ids.length) await resolveMemberIds(trx, tenantId, groupId, ids);
  return added;
}

/** Member ids are UUIDs; any other value is a 400 before it reaches a `::uuid[]` cast (a 500 there). */
function requireResourceIds(ids: readonly string[]): void {
  const malformed = ids.filter((id) => !isResourceId(id));
  if (malformed.length > 0) throw ScimError.invalidValue(`Unknown member id(s): ${preview(malformed)}`);
}

function preview(ids: readonly string[]): string {
  return ids.length <= 5 ? ids.join(', ') : `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more`;
}

function notFound(id: string): ScimError {
  return ScimError.notFound(`Group ${id} not found`);
}

async function renderById(ctx: ScimContext, db: ScimContext['db'] | Transaction<Database>, id: string, projection: Projection): Promise<Rendered> {
  const row = await repo.findGroup(db, ctx.tenantId, id, { members: projectionIncludes(rt, projection, 'members') });
  if (!row) throw notFound(id);
  return { resource: project(rt, groupToResource(row, ctx.baseUrl), projection), etag: etagOf(row.version) };
}

/** POST /Groups: the group and its `members` in one transaction (Okta AIW sends members on create). */
export async function createGroup(ctx: ScimContext, body: unknown, projection: Projection, dialect?: RequestDialect): Promise<Rendered> {
  checkProjection(rt, projection);
  const input = groupInput(body, ctx.settings.limits, dialect);
  const id = uuidv7();
  return ctx.db.transaction().execute(async (trx) => {
    await mapStorageErrors(repo.insertGroup(trx, ctx.tenantId, id, input.fields));
    if (input.memberIds && input.memberIds.length > 0) {
      const added = await addMembersChecked(trx, ctx.tenantId, id, input.memberIds);
      await notifyGroupChanged(ctx, trx, id, added, false);
    }
    return renderById(ctx, trx, id, projection);
  });
}

export async function getGroup(ctx: ScimContext, id: string, projection: Projection): Promise<Rendered> {
  checkProjection(rt, projection);
  if (!isResourceId(id)) throw notFound(id);
  return renderById(ctx, ctx.db, id, projection);
}

/**
 * PUT /Groups (RFC 7644 §3.5.1). With `members` the membership becomes exactly that list (set-wise).
 * Without a `members` key membership is left unchanged: a rename-only PUT must never wipe a group
 * (the most reported SCIM bug class); send `"members": []` to empty it.
 */
export async function replaceGroup(ctx: ScimContext, id: string, body: unknown, projection: Projection, ifMatch?: string, dialect?: RequestDialect): Promise<Rendered> {
  checkProjection(rt, projection);
  if (!isResourceId(id)) throw notFound(id);
  const input = groupInput(body, ctx.settings.limits, dialect);
  const expected = expectedVersion(ifMatch);
  return ctx.db.transaction().execute(async (trx) => {
    // Row lock: concurrent writes to one group's membership are serialised, never lost.
    const current = await repo.findGroup(trx, ctx.tenantId, id, { members: false, forUpdate: true });
    if (!current) throw notFound(id);
    checkVersion(expected, current.version, `Group ${id}`);
    await mapStorageErrors(repo.updateGroup(trx, ctx.tenantId, id, input.fields));
    const changed: string[] = [];
    if (input.memberIds) {
      requireResourceIds(input.memberIds);
      changed.push(...(await repo.removeMembersExcept(trx, ctx.tenantId, id, input.memberIds)));
      changed.push(...(await addMembersChecked(trx, ctx.tenantId, id, input.memberIds)));
    }
    await notifyGroupChanged(ctx, trx, id, changed, identityChanged(current, input.fields));
    return renderById(ctx, trx, id, projection);
  });
}

/** Runs PATCH membership changes in order, each one set-wise (one or two statements whatever its size). */
async function applyMemberOps(trx: Transaction<Database>, tenantId: string, groupId: string, ops: readonly MemberOp[]): Promise<string[]> {
  const changed: string[] = [];
  for (const op of ops) {
    switch (op.kind) {
      case 'add': {
        const ids = uniqueIds(op.members.map((m) => m.value));
        changed.push(...(await addMembersChecked(trx, tenantId, groupId, ids)));
        break;
      }
      case 'replace': {
        const ids = uniqueIds(op.members.map((m) => m.value));
        requireResourceIds(ids);
        changed.push(...(await repo.removeMembersExcept(trx, tenantId, groupId, ids)));
        changed.push(...(await addMembersChecked(trx, tenantId, groupId, ids)));
        break;
      }
      case 'removeAll':
        changed.push(...(await repo.removeMembersExcept(trx, tenantId, groupId, [])));
        break;
      case 'remove': {
        // An id that is not a UUID cannot be a member; removing it is a no-op, like any non-member.
        const removed = await repo.removeMembers(trx, tenantId, groupId, uniqueIds(op.values).filter(isResourceId));
        if (op.requireMatch && removed.length === 0) throw ScimError.noTarget('No member matches the filter of this replace');
        changed.push(...removed);
        break;
      }
    }
  }
  return changed;
}

/** A rename or externalId change can change every member's roles (rules match on them). */
function identityChanged(current: { display_name: string; external_id: string | null }, fields: repo.GroupFields): boolean {
  return current.display_name !== fields.displayName || current.external_id !== fields.externalId;
}

async function notifyGroupChanged(ctx: ScimContext, trx: Transaction<Database>, groupId: string, memberIds: string[], wholeGroup: boolean): Promise<void> {
  if (memberIds.length === 0 && !wholeGroup) return;
  if (ctx.events && (await ctx.events.isBound(trx, ctx.tenantId))) {
    await ctx.events.groupChanged(trx, ctx.tenantId, { groupId, memberIds, wholeGroup });
  }
}

function uniqueIds(values: readonly string[]): string[] {
  return [...new Set(values.map((v) => v.toLowerCase()))];
}

/**
 * PATCH /Groups (RFC 7644 §3.5.2). The group row is locked first, so concurrent PATCHes on one group
 * queue behind each other and all take effect (no lost update, no 409 for the IdP). Membership
 * changes are set-wise SQL; attribute changes go through the same validation as PUT.
 * Returns undefined when the caller asked for no body (204).
 */
export async function patchGroup(ctx: ScimContext, id: string, body: unknown, projection: Projection | undefined, ifMatch: string | undefined, dialect: RequestDialect): Promise<Rendered | undefined> {
  if (projection) checkProjection(rt, projection);
  if (!isResourceId(id)) throw notFound(id);
  checkPatchPaths(body, ctx.settings.limits);
  const expected = expectedVersion(ifMatch);
  if (expected === undefined && mightBeUnbound(ctx)) {
    const members = membersOnly(id, body, dialect, ctx);
    if (members) {
      const withMembers = projection !== undefined && projectionIncludes(rt, projection, 'members');
      const row = await mapStorageErrors(repo.patchMembersOfUnboundTenant(ctx.db, ctx.tenantId, id, members.add, members.remove, withMembers));
      if (row) return projection ? { resource: project(rt, groupToResource(row, ctx.baseUrl), projection), etag: etagOf(row.version) } : undefined;
    }
  }
  return ctx.db.transaction().execute(async (trx) => {
    // Lock, read and bump in one statement: a PATCH always changes the group (members or attributes).
    const current = await repo.lockAndBumpGroup(trx, ctx.tenantId, id);
    if (!current) throw notFound(id);
    checkVersion(expected, current.version - 1, `Group ${id}`);
    const { resource, memberOps } = patchResource(rt, current.data, id, body, dialect, ctx.settings.limits);
    const { members: _ignored, ...data } = normalizePatched(rt, current.data, resource, ctx.settings.limits);
    const fields: repo.GroupFields = {
      displayName: String(data.displayName),
      externalId: typeof data.externalId === 'string' ? data.externalId : null,
      data,
    };
    const attributesChanged = identityChanged(current, fields) || JSON.stringify(fields.data) !== JSON.stringify(current.data);
    if (attributesChanged) await mapStorageErrors(repo.updateGroupFields(trx, ctx.tenantId, id, fields));
    const changed = await applyMemberOps(trx, ctx.tenantId, id, memberOps);
    await notifyGroupChanged(ctx, trx, id, changed, identityChanged(current, fields));
    return projection ? renderById(ctx, trx, id, projection) : undefined;
  });
}

/** Patched in place of the stored group to see whether a PATCH touches anything but `members` (NUL: no client can send it). */
const UNTOUCHED: ScimResource = Object.freeze({ displayName: '\u0000' });

/**
 * The members a PATCH adds and removes when that is all it does (the IdPs' everyday group change): no other
 * attribute, only `add` and `remove`, add ids that are UUIDs other than the group's own, and no id both
 * added and removed (their order would matter). Undefined otherwise, and for a body that does not apply
 * (the transactional path then answers with the precise error). The same parser as the general path
 * decides, applied to a stand-in for the group: a PATCH that leaves the stand-in as it was touches only
 * `members`.
 */
function membersOnly(id: string, body: unknown, dialect: RequestDialect, ctx: ScimContext): { add: string[]; remove: string[] } | undefined {
  let patched: ReturnType<typeof patchResource>;
  try {
    patched = patchResource(rt, UNTOUCHED, id, body, dialect, ctx.settings.limits);
  } catch {
    return undefined;
  }
  if (patched.memberOps.length === 0 || !isDeepStrictEqual(patched.resource, UNTOUCHED)) return undefined;
  const add = new Set<string>();
  const remove = new Set<string>();
  for (const op of patched.memberOps) {
    if (op.kind === 'add') for (const member of op.members) add.add(member.value.toLowerCase());
    else if (op.kind === 'remove' && !op.requireMatch) for (const value of op.values) remove.add(value.toLowerCase());
    else return undefined;
  }
  const removed = [...remove].filter(isResourceId);
  if ([...add].some((member) => !isResourceId(member)) || add.has(id.toLowerCase()) || removed.some((member) => add.has(member))) return undefined;
  return { add: [...add], remove: removed };
}

export async function deleteGroup(ctx: ScimContext, id: string, ifMatch?: string): Promise<void> {
  if (!isResourceId(id)) throw notFound(id);
  const expected = expectedVersion(ifMatch);
  // As for users: an unbound tenant without If-Match deletes in one statement.
  if (expected === undefined && mightBeUnbound(ctx) && (await repo.deleteGroupOfUnboundTenant(ctx.db, ctx.tenantId, id))) return;
  await ctx.db.transaction().execute(async (trx) => {
    if (expected !== undefined) {
      const current = await repo.findGroup(trx, ctx.tenantId, id, { members: false, forUpdate: true });
      if (!current) throw notFound(id);
      checkVersion(expected, current.version, `Group ${id}`);
    }
    // Who loses roles must be known before the membership rows go with the group.
    const bound = ctx.events ? await ctx.events.isBound(trx, ctx.tenantId) : false;
    const affected = bound ? await usersUnderGroups(trx, ctx.tenantId, [id]) : [];
    if (!(await repo.deleteGroup(trx, ctx.tenantId, id))) throw notFound(id);
    if (bound && ctx.events) await ctx.events.usersChanged(trx, ctx.tenantId, affected);
  });
}

export async function listGroups(ctx: ScimContext, query: ListQuery): Promise<ScimResource> {
  checkProjection(rt, query);
  // The listed page's rows are aliased `u` (sql/list.ts); their members are read only when returned.
  const members = projectionIncludes(rt, query, 'members') ? sql`${repo.membersOf('u')} as members` : undefined;
  if (query.cursor !== undefined) {
    return cursorListResponse(ctx, 'Group', { ...query, cursor: query.cursor },
      (options) => keysetPage<repo.GroupWithMembers>(ctx.db, 'groups', rt, ctx.tenantId, options, members),
      (row) => project(rt, groupToResource(row, ctx.baseUrl), query));
  }
  const page = await listPage<repo.GroupWithMembers>(ctx.db, 'groups', rt, ctx.tenantId, {
    filter: query.filter,
    sortBy: query.sortBy,
    sortOrder: query.sortOrder,
    startIndex: query.startIndex,
    count: query.count,
  }, members);
  const resources = page.rows.map((row) => project(rt, groupToResource(row, ctx.baseUrl), query));
  return listResponse(resources, page.total, query.startIndex);
}
