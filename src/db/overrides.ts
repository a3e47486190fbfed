import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import type { Database, UserAdminOverrideRow, UserRow } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** What a customer's admin decided about one directory user, on top of what the IdP says. */
export interface UserOverride {
  readonly userId: string;
  readonly blocked: boolean;
  readonly removedFromOrg: boolean;
  /** GDPR erasure requested: the sync deletes the Auth0 user whatever the deprovision policy says. */
  readonly erase: boolean;
  /** Who decided (`token:<id>`, `jwt:<sub>`, …), for `provisio status` and the audit trail. */
  readonly actor: string;
  readonly reason: string | null;
  readonly updatedAt: Date;
}

/** The flags an admin action sets; flags left out keep their stored value. */
export interface OverrideChange {
  readonly blocked?: boolean;
  readonly removedFromOrg?: boolean;
  readonly erase?: boolean;
  readonly actor: string;
  readonly reason?: string | null;
}

function toOverride(row: UserAdminOverrideRow): UserOverride {
  return {
    userId: row.user_id, blocked: row.blocked, removedFromOrg: row.removed_from_org, erase: row.erase,
    actor: row.actor, reason: row.reason, updatedAt: row.updated_at,
  };
}

/** True when the override no longer changes anything (such a row is deleted rather than kept). */
export function isCleared(o: Pick<UserOverride, 'blocked' | 'removedFromOrg' | 'erase'>): boolean {
  return !o.blocked && !o.removedFromOrg && !o.erase;
}

/** The override of one user (primary key lookup); `forUpdate` locks it for a read-modify-write. */
export async function findOverride(db: Db, tenantId: string, userId: string, options: { forUpdate?: boolean } = {}): Promise<UserOverride | undefined> {
  let query = db.selectFrom('user_admin_overrides').selectAll().where('tenant_id', '=', tenantId).where('user_id', '=', userId);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row && toOverride(row);
}

/**
 * Records a change: inserts the override, or sets only the flags `change` names on the existing one, so
 * two admins blocking and removing the same user at once both win. Actor and reason are the latest's.
 */
export async function upsertOverride(db: Db, tenantId: string, userId: string, change: OverrideChange): Promise<UserOverride> {
  const reason = change.reason ?? null;
  const row = await db
    .insertInto('user_admin_overrides')
    .values({
      tenant_id: tenantId, user_id: userId, actor: change.actor, reason,
      blocked: change.blocked ?? false, removed_from_org: change.removedFromOrg ?? false, erase: change.erase ?? false,
      updated_at: sql<Date>`clock_timestamp()`,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'user_id']).doUpdateSet({
      actor: change.actor,
      reason,
      updated_at: sql<Date>`clock_timestamp()`,
      ...(change.blocked !== undefined ? { blocked: change.blocked } : {}),
      ...(change.removedFromOrg !== undefined ? { removed_from_org: change.removedFromOrg } : {}),
      ...(change.erase !== undefined ? { erase: change.erase } : {}),
    }))
    .returningAll()
    .executeTakeFirstOrThrow();
  return toOverride(row);
}

/** Deletes the override; `onlyIfCleared` keeps a row a concurrent action set a flag on again. True if one was deleted. */
export async function deleteOverride(db: Db, tenantId: string, userId: string, options: { onlyIfCleared?: boolean } = {}): Promise<boolean> {
  let query = db.deleteFrom('user_admin_overrides').where('tenant_id', '=', tenantId).where('user_id', '=', userId);
  if (options.onlyIfCleared) query = query.where('blocked', '=', false).where('removed_from_org', '=', false).where('erase', '=', false);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** The overrides of many users of one tenant (for a user listing), keyed by user id; users without one are absent. */
export async function overridesOf(db: Db, tenantId: string, userIds: readonly string[]): Promise<Map<string, UserOverride>> {
  if (userIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('user_admin_overrides')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', sql<string>`any(${[...userIds]}::uuid[])`)
    .execute();
  return new Map(rows.map((r) => [r.user_id, toOverride(r)]));
}

/** A live directory user with its override, if any. */
export interface UserWithOverride {
  readonly user: UserRow;
  readonly override: UserOverride | undefined;
}

/**
 * The sync's read of a live user: the users row and its override in one statement (a left join on both
 * primary keys), so honouring overrides costs the sync and the login decision no extra round trip.
 */
const FIND_USER_WITH_OVERRIDE = `select r.*, o.blocked as o_blocked, o.removed_from_org as o_removed_from_org, o.erase as o_erase,
    o.actor as o_actor, o.reason as o_reason, o.updated_at as o_updated_at
  from users r left join user_admin_overrides o on o.tenant_id = r.tenant_id and o.user_id = r.id
  where r.tenant_id = $1 and r.id = $2`;

type JoinedRow = UserRow & {
  o_blocked: boolean | null;
  o_removed_from_org: boolean | null;
  o_erase: boolean | null;
  o_actor: string | null;
  o_reason: string | null;
  o_updated_at: Date | null;
};

export async function findUserWithOverride(db: Db, tenantId: string, userId: string): Promise<UserWithOverride | undefined> {
  const result = await db.executeQuery<JoinedRow>(CompiledQuery.raw(FIND_USER_WITH_OVERRIDE, [tenantId, userId]));
  const row = result.rows[0];
  if (!row) return undefined;
  const { o_blocked, o_removed_from_org, o_erase, o_actor, o_reason, o_updated_at, ...user } = row;
  const override = o_actor === null ? undefined : {
    userId, blocked: o_blocked === true, removedFromOrg: o_removed_from_org === true, erase: o_erase === true,
    actor: o_actor, reason: o_reason, updatedAt: o_updated_at ?? new Date(0),
  };
  return { user, override };
}

// Every part sees the rows as they were before the statement, so the history's unattributed logins are
// found through the Auth0 id the same statement deletes from user_sync.
const FORGET_USER = `with sync as (delete from user_sync where tenant_id = $1 and user_id = $2),
    holds as (delete from sync_holds where tenant_id = $1 and user_id = $2),
    history as (delete from user_history where tenant_id = $1 and user_id = $2),
    logins as (delete from user_history where tenant_id = $1 and user_id is null
      and auth0_user_id = (select auth0_user_id from user_sync where tenant_id = $1 and user_id = $2))
  delete from user_admin_overrides where tenant_id = $1 and user_id = $2`;

/**
 * Removes every sync-side record of a user (applied state, tombstone, last plan, hold, override, its sync
 * runs and login decisions) in one statement: the end of a GDPR erasure, once the directory row is gone
 * and Auth0 confirmed the deletion.
 */
export async function forgetUser(db: Db, tenantId: string, userId: string): Promise<void> {
  await db.executeQuery(CompiledQuery.raw(FORGET_USER, [tenantId, userId]));
}
