import { sql, type Kysely } from 'kysely';
import type { Database, UserSyncStatus } from './schema.js';

/** A directory user as a customer's admin sees it: identity, IdP state, sync state, admin overrides. */
export interface AdminUserSummary {
  readonly id: string;
  readonly userName: string;
  readonly externalId: string | null;
  readonly email: string | null;
  readonly displayName: string | null;
  /** What the IdP says. */
  readonly active: boolean;
  readonly sync: { readonly status: UserSyncStatus; readonly auth0UserId: string | null; readonly syncedAt: string | null; readonly lastError: string | null } | null;
  readonly override: { readonly blocked: boolean; readonly removedFromOrg: boolean; readonly by: string; readonly at: string } | null;
}

export interface ListUsersQuery {
  readonly limit: number;
  /** Opaque cursor from a previous page's `next`. */
  readonly cursor?: string;
  readonly status?: UserSyncStatus;
  /** Prefix of the userName or email, case-insensitive. */
  readonly search?: string;
  /** Only the direct members of this group (its id). */
  readonly group?: string;
}

interface Row {
  id: string;
  user_name: string;
  /** The key of the unique index, as PostgreSQL lower-cases it (JS lower-cases some letters differently). */
  sort_key: string;
  external_id: string | null;
  email: string | null;
  display_name: string | null;
  active: boolean;
  status: UserSyncStatus | null;
  auth0_user_id: string | null;
  synced_at: Date | null;
  last_error: string | null;
  blocked: boolean | null;
  removed_from_org: boolean | null;
  actor: string | null;
  updated_at: Date | null;
}

/** A directory user joined with its sync state and admin override (one row per user: both are keyed by it). */
const SELECT_USERS = sql`
    select u.id, u.user_name, lower(u.user_name) as sort_key, u.external_id, u.email, u.display_name, u.active,
           s.status, s.auth0_user_id, s.synced_at, s.last_error, o.blocked, o.removed_from_org, o.actor, o.updated_at
    from users u
    left join user_sync s on s.tenant_id = u.tenant_id and s.user_id = u.id
    left join user_admin_overrides o on o.tenant_id = u.tenant_id and o.user_id = u.id`;

export class CursorError extends Error {
  override name = 'CursorError';
}

function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (cursor === '' || Buffer.from(key, 'utf8').toString('base64url') !== cursor) throw new CursorError('cursor is not one this API returned');
  return key;
}

function likePrefix(text: string): string {
  return `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * One page of a tenant's directory users in userName order (keyset on the unique lower(user_name)
 * index, so page 1,000 costs what page 1 does and a user added meanwhile is neither skipped nor repeated).
 */
export async function listDirectoryUsers(db: Kysely<Database>, tenantId: string, query: ListUsersQuery): Promise<{ users: AdminUserSummary[]; next: string | null }> {
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  const { rows } = await sql<Row>`${SELECT_USERS}
    where u.tenant_id = ${tenantId}
      ${after !== null ? sql`and lower(u.user_name) > ${after}` : sql``}
      ${query.status ? sql`and s.status = ${query.status}` : sql``}
      ${query.search ? sql`and (lower(u.user_name) like lower(${likePrefix(query.search)}) or u.email like lower(${likePrefix(query.search)}))` : sql``}
      ${query.group ? sql`and exists (select 1 from group_members m where m.tenant_id = u.tenant_id and m.group_id = ${query.group}::uuid and m.member_id = u.id)` : sql``}
    order by lower(u.user_name)
    limit ${query.limit + 1}`.execute(db);
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    users: page.map(summary),
    next: rows.length > query.limit && last ? Buffer.from(last.sort_key, 'utf8').toString('base64url') : null,
  };
}

/** One directory user by SCIM id, or undefined. */
export async function findDirectoryUser(db: Kysely<Database>, tenantId: string, userId: string): Promise<AdminUserSummary | undefined> {
  const { rows } = await sql<Row>`${SELECT_USERS}
    where u.tenant_id = ${tenantId} and u.id = ${userId}`.execute(db);
  return rows[0] && summary(rows[0]);
}

function summary(r: Row): AdminUserSummary {
  return {
    id: r.id,
    userName: r.user_name,
    externalId: r.external_id,
    email: r.email,
    displayName: r.display_name,
    active: r.active,
    sync: r.status ? { status: r.status, auth0UserId: r.auth0_user_id, syncedAt: r.synced_at?.toISOString() ?? null, lastError: r.last_error } : null,
    override: r.actor && (r.blocked || r.removed_from_org)
      ? { blocked: Boolean(r.blocked), removedFromOrg: Boolean(r.removed_from_org), by: r.actor, at: r.updated_at?.toISOString() ?? '' }
      : null,
  };
}

/** A directory group as the console's filter lists it. */
export interface AdminGroupSummary {
  readonly id: string;
  readonly displayName: string;
  readonly externalId: string | null;
  /** Direct members that are users (nested groups not expanded). */
  readonly users: number;
}

/**
 * A tenant's groups by display name (first `limit`, optionally those whose name starts with `search`), with
 * their direct user count: what the users filter offers. Role rules name groups the same way.
 */
export async function listDirectoryGroups(db: Kysely<Database>, tenantId: string, query: { limit: number; search?: string }): Promise<AdminGroupSummary[]> {
  const { rows } = await sql<{ id: string; display_name: string; external_id: string | null; users: string }>`
    select g.id, g.display_name, g.external_id,
      (select count(*) from group_members m where m.tenant_id = g.tenant_id and m.group_id = g.id and m.member_type = 'User') as users
    from groups g
    where g.tenant_id = ${tenantId}
      ${query.search ? sql`and lower(g.display_name) like lower(${likePrefix(query.search)})` : sql``}
    order by lower(g.display_name), g.id
    limit ${query.limit}`.execute(db);
  return rows.map((g) => ({ id: g.id, displayName: g.display_name, externalId: g.external_id, users: Number(g.users) }));
}
