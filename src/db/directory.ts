import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Cycles in nested groups are cut off; deeper nesting than this is not followed. */
const MAX_NESTING = 32;

export interface GroupMembershipRow {
  readonly id: string;
  readonly external_id: string | null;
  readonly display_name: string;
  /** Groups between the user's direct group and this one (empty for a direct membership). */
  readonly via: string[];
}

/** The user's direct and nested groups, nearest path first, in one recursive statement. */
export async function groupsOfUser(db: Db, tenantId: string, userId: string): Promise<GroupMembershipRow[]> {
  const result = await sql<GroupMembershipRow>`
    with recursive memberships(group_id, via, depth) as (
      select gm.group_id, array[]::uuid[], 0 from group_members gm where gm.tenant_id = ${tenantId} and gm.member_id = ${userId}
      union all
      select gm.group_id, m.via || m.group_id, m.depth + 1
      from group_members gm join memberships m on gm.tenant_id = ${tenantId} and gm.member_id = m.group_id
      where m.depth < ${MAX_NESTING} and not (gm.group_id = any(m.via)) and gm.group_id <> m.group_id
    )
    select distinct on (m.group_id) g.id, g.external_id, g.display_name, m.via::text[] as via
    from memberships m join groups g on g.tenant_id = ${tenantId} and g.id = m.group_id
    order by m.group_id, m.depth`.execute(db);
  return result.rows;
}

/** Every user under the given groups, directly or through nested groups (for fan-out of group changes). */
export async function usersUnderGroups(db: Db, tenantId: string, groupIds: readonly string[]): Promise<string[]> {
  if (groupIds.length === 0) return [];
  const result = await sql<{ member_id: string }>`
    with recursive sub(id) as (
      select unnest(${groupIds}::uuid[])
      union
      select gm.member_id from group_members gm join sub on gm.tenant_id = ${tenantId} and gm.group_id = sub.id
      where gm.member_type = 'Group'
    )
    select distinct gm.member_id from group_members gm join sub on gm.tenant_id = ${tenantId} and gm.group_id = sub.id
    where gm.member_type = 'User'`.execute(db);
  return result.rows.map((r) => r.member_id);
}

/** Splits member ids into users and groups (for a membership change: groups fan out to their users). */
export async function expandMembers(db: Db, tenantId: string, memberIds: readonly string[]): Promise<string[]> {
  if (memberIds.length === 0) return [];
  // One primary-key probe per id, whatever the statistics say (see membersAmong in groups.ts).
  const users = await sql<{ id: string }>`select u.id from unnest(${memberIds}::uuid[]) as wanted(id)
    cross join lateral (select id from users where tenant_id = ${tenantId} and id = wanted.id) u`.execute(db);
  const userIds = users.rows.map((r) => r.id);
  const groupIds = memberIds.filter((id) => !userIds.includes(id));
  return [...new Set([...userIds, ...(await usersUnderGroups(db, tenantId, groupIds))])];
}

/** All user ids of a tenant (initial import after binding, reconciliation). */
export async function allUserIds(db: Db, tenantId: string): Promise<string[]> {
  const rows = await db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).execute();
  return rows.map((r) => r.id);
}
