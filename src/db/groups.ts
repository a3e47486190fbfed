import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { ScimError } from '../scim/errors.js';
import { groupResourceType } from '../scim/registry.js';
import { isUniqueViolation } from './errors.js';
import type { Database, GroupRow, MemberType } from './schema.js';
import { listPage, type ListPage, type PageOptions } from './list.js';

type Db = Kysely<Database> | Transaction<Database>;

/** A member as returned in `members` (RFC 7643 §4.2). */
export interface GroupMemberRef {
  readonly value: string;
  readonly type: MemberType;
  readonly display: string | null;
}

export type GroupWithMembers = GroupRow & { members?: GroupMemberRef[] };

export interface GroupFields {
  readonly displayName: string;
  readonly externalId: string | null;
  readonly data: Record<string, unknown>;
}

const DISPLAY_NAME_TAKEN = 'groups_display_name';

function uniqueness(err: unknown, displayName: string): never {
  if (isUniqueViolation(err, DISPLAY_NAME_TAKEN)) throw ScimError.uniqueness(`A group named "${displayName}" already exists`);
  throw err;
}

/** All members with their display names, in one correlated subquery. */
const membersOf = (alias: string): RawBuilder<GroupMemberRef[]> => sql<GroupMemberRef[]>`(
  select coalesce(json_agg(json_build_object('value', gm.member_id, 'type', gm.member_type,
    'display', coalesce(mu.display_name, mu.user_name, mg.display_name)) order by gm.member_id), '[]'::json)
  from group_members gm
  left join users mu on gm.member_type = 'User' and mu.tenant_id = gm.tenant_id and mu.id = gm.member_id
  left join groups mg on gm.member_type = 'Group' and mg.tenant_id = gm.tenant_id and mg.id = gm.member_id
  where gm.tenant_id = ${sql.ref(`${alias}.tenant_id`)} and gm.group_id = ${sql.ref(`${alias}.id`)})`;

export async function insertGroup(db: Db, tenantId: string, id: string, fields: GroupFields): Promise<GroupRow> {
  try {
    return await db
      .insertInto('groups')
      .values({ tenant_id: tenantId, id, display_name: fields.displayName, external_id: fields.externalId, data: JSON.stringify(fields.data) })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    return uniqueness(err, fields.displayName);
  }
}

export async function findGroup(db: Db, tenantId: string, id: string, options: { members: boolean; forUpdate?: boolean }): Promise<GroupWithMembers | undefined> {
  let query = db.selectFrom('groups as r').selectAll('r').where('r.tenant_id', '=', tenantId).where('r.id', '=', id);
  if (options.members) query = query.select(membersOf('r').as('members'));
  if (options.forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

/** Replaces the stored resource (not its members) and bumps `version`. */
export async function updateGroup(db: Db, tenantId: string, id: string, fields: GroupFields): Promise<GroupRow | undefined> {
  try {
    return await db
      .updateTable('groups as r')
      .set((eb) => ({
        display_name: fields.displayName,
        external_id: fields.externalId,
        data: JSON.stringify(fields.data),
        version: eb('r.version', '+', 1),
        updated_at: sql<Date>`clock_timestamp()`,
      }))
      .where('r.tenant_id', '=', tenantId)
      .where('r.id', '=', id)
      .returningAll()
      .executeTakeFirst();
  } catch (err) {
    return uniqueness(err, fields.displayName);
  }
}

/** Marks a group changed after a membership-only write (new `version` and `lastModified`). */
export async function touchGroup(db: Db, tenantId: string, id: string): Promise<void> {
  await sql`update groups set version = version + 1, updated_at = clock_timestamp() where tenant_id = ${tenantId} and id = ${id}`.execute(db);
}

/** Deletes the group, its own member rows (cascade) and its membership in other groups. */
export async function deleteGroup(db: Db, tenantId: string, id: string): Promise<boolean> {
  const rows = await sql<{ id: string }>`
    with gone as (delete from groups where tenant_id = ${tenantId} and id = ${id} returning id),
         nested as (delete from group_members where tenant_id = ${tenantId} and member_id in (select id from gone))
    select id from gone`.execute(db);
  return rows.rows.length > 0;
}

/** Which of `ids` exist in the tenant, and as what. One statement whatever the number of ids. */
export async function resolveMembers(db: Db, tenantId: string, ids: readonly string[]): Promise<Map<string, MemberType>> {
  if (ids.length === 0) return new Map();
  const rows = await sql<{ id: string; type: MemberType }>`
    select u.id, 'User' as type from users u where u.tenant_id = ${tenantId} and u.id = any(${ids}::uuid[])
    union all
    select g.id, 'Group' as type from groups g where g.tenant_id = ${tenantId} and g.id = any(${ids}::uuid[])`.execute(db);
  return new Map(rows.rows.map((r) => [r.id, r.type]));
}

/** Adds members set-wise; existing memberships are kept (add merges, RFC 7644 §3.5.2.1). Returns the new ones. */
export async function addMembers(db: Db, tenantId: string, groupId: string, members: ReadonlyMap<string, MemberType>): Promise<string[]> {
  if (members.size === 0) return [];
  const ids = [...members.keys()];
  const types = ids.map((id) => members.get(id) as MemberType);
  const result = await sql<{ member_id: string }>`
    insert into group_members (tenant_id, group_id, member_id, member_type)
    select ${tenantId}, ${groupId}, m.id, m.type from unnest(${ids}::uuid[], ${types}::text[]) as m(id, type)
    on conflict do nothing returning member_id`.execute(db);
  return result.rows.map((r) => r.member_id);
}

/** Removes the listed members (those not in the group are ignored); one statement. Returns the removed ones. */
export async function removeMembers(db: Db, tenantId: string, groupId: string, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const result = await sql<{ member_id: string }>`delete from group_members where tenant_id = ${tenantId} and group_id = ${groupId}
    and member_id = any(${ids}::uuid[]) returning member_id`.execute(db);
  return result.rows.map((r) => r.member_id);
}

/** Removes every member except `keep`; with `keep` empty the group is emptied. Returns the removed ones. */
export async function removeMembersExcept(db: Db, tenantId: string, groupId: string, keep: readonly string[]): Promise<string[]> {
  const result = await sql<{ member_id: string }>`delete from group_members where tenant_id = ${tenantId} and group_id = ${groupId}
    and not (member_id = any(${keep}::uuid[])) returning member_id`.execute(db);
  return result.rows.map((r) => r.member_id);
}

/** One page of groups and the total matching count (see `listPage`). */
export async function listGroups(db: Db, tenantId: string, options: PageOptions & { withMembers: boolean }): Promise<ListPage<GroupWithMembers>> {
  return listPage<GroupWithMembers>(db, 'groups', groupResourceType, tenantId, options, options.withMembers ? sql`${membersOf('u')} as members` : undefined);
}
