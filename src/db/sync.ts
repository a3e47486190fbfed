import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import type { Database, UserSyncStatus } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** A tenant's stored sync configuration (validated shapes live in src/sync/config.ts). */
export interface StoredSyncConfig {
  readonly binding: Record<string, unknown>;
  readonly rules: Record<string, unknown>;
  readonly guard: Record<string, unknown>;
}

export async function findSyncConfig(db: Db, tenantId: string): Promise<StoredSyncConfig | undefined> {
  return db.selectFrom('tenant_sync_config').select(['binding', 'rules', 'guard']).where('tenant_id', '=', tenantId).executeTakeFirst();
}

export async function saveSyncConfig(db: Db, tenantId: string, config: StoredSyncConfig): Promise<void> {
  await db
    .insertInto('tenant_sync_config')
    .values({ tenant_id: tenantId, binding: JSON.stringify(config.binding), rules: JSON.stringify(config.rules), guard: JSON.stringify(config.guard) })
    .onConflict((oc) =>
      oc.column('tenant_id').doUpdateSet({
        binding: JSON.stringify(config.binding),
        rules: JSON.stringify(config.rules),
        guard: JSON.stringify(config.guard),
        updated_at: new Date(),
      }),
    )
    .execute();
}

/** Records the Auth0 id of the binding's organization, unless the binding changed organization meanwhile or has it. */
export async function rememberOrganizationId(db: Db, tenantId: string, organizationName: string, organizationId: string): Promise<void> {
  await sql`update tenant_sync_config set binding = jsonb_set(binding, '{organization,id}', to_jsonb(${organizationId}::text))
    where tenant_id = ${tenantId} and binding -> 'organization' ->> 'name' = ${organizationName}
      and binding -> 'organization' ->> 'id' is null`.execute(db);
}

/** Ids of the tenants bound to Auth0 (what `provisio reconcile` without `--tenant` covers). */
export async function boundTenantIds(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('tenant_sync_config').select('tenant_id').execute();
  return rows.map((r) => r.tenant_id);
}

const IS_BOUND = 'select 1 as bound from tenant_sync_config where tenant_id = $1';

/** True when the tenant syncs to Auth0; SCIM writes of unbound tenants enqueue nothing. */
export async function isBound(db: Db, tenantId: string): Promise<boolean> {
  const result = await db.executeQuery(CompiledQuery.raw(IS_BOUND, [tenantId]));
  return result.rows.length > 0;
}

/**
 * Marks directory users changed (status pending) in the SCIM write's transaction, set-wise. The row
 * outlives a SCIM DELETE: `tombstone` keeps what deprovisioning needs once the users row is gone.
 */
export async function markUsersChanged(db: Db, tenantId: string, userIds: readonly string[], tombstone?: Record<string, unknown>): Promise<void> {
  if (userIds.length === 0) return;
  await sql`insert into user_sync (tenant_id, user_id, status, changed_at, deleted_at, tombstone)
    select ${tenantId}, u, 'pending', clock_timestamp(), ${tombstone ? sql`clock_timestamp()` : sql`null`}, ${tombstone ? JSON.stringify(tombstone) : null}::jsonb
    from unnest(${userIds}::uuid[]) as u
    on conflict (tenant_id, user_id) do update set status = 'pending', changed_at = excluded.changed_at,
      deleted_at = excluded.deleted_at, tombstone = coalesce(excluded.tombstone, user_sync.tombstone)`.execute(db);
}

export interface UserSyncRow {
  readonly user_id: string;
  readonly auth0_user_id: string | null;
  readonly status: UserSyncStatus;
  readonly applied: Record<string, unknown> | null;
  readonly last_plan: unknown[] | null;
  readonly last_error: string | null;
  readonly attempts: number;
  readonly deleted_at: Date | null;
  readonly tombstone: Record<string, unknown> | null;
  readonly changed_at: Date;
  readonly synced_at: Date | null;
}

export async function findUserSync(db: Db, tenantId: string, userId: string): Promise<UserSyncRow | undefined> {
  return db
    .selectFrom('user_sync')
    .select(['user_id', 'auth0_user_id', 'status', 'applied', 'last_plan', 'last_error', 'attempts', 'deleted_at', 'tombstone', 'changed_at', 'synced_at'])
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
}

export interface SyncOutcome {
  readonly status: UserSyncStatus;
  readonly auth0UserId?: string | null;
  readonly applied?: Record<string, unknown>;
  readonly plan?: unknown[];
  readonly error?: string | null;
}

/**
 * Records a job's outcome and returns the status it left. A change that arrived while the job ran keeps
 * `pending`: one whose transaction started after the job did (`changed_at > startedAt`), or one that moved
 * `changed_at` from what the job read at its start (`seenChangedAt`). The second catches a change made in
 * a transaction that began before the job but committed after the job read the directory: its
 * `changed_at` (transaction start) is older than the job, yet the job did not see it. The caller queues
 * the user again when `pending` comes back (its own job may have been folded into this one).
 * `seenChangedAt` has millisecond precision (a JS Date), hence the truncation.
 */
export async function recordSyncOutcome(db: Db, tenantId: string, userId: string, startedAt: Date, outcome: SyncOutcome, seenChangedAt?: Date | null): Promise<string | undefined> {
  const seen = seenChangedAt ?? null;
  const { rows } = await sql<{ status: string }>`update user_sync set
      status = case when (changed_at > ${startedAt} or (${seen}::timestamptz is not null and date_trunc('milliseconds', changed_at) > ${seen}::timestamptz))
        and ${outcome.status} in ('synced', 'awaiting-login') then 'pending' else ${outcome.status} end,
      auth0_user_id = coalesce(${outcome.auth0UserId ?? null}, auth0_user_id),
      applied = coalesce(${outcome.applied ? JSON.stringify(outcome.applied) : null}::jsonb, applied),
      last_plan = coalesce(${outcome.plan ? JSON.stringify(outcome.plan) : null}::jsonb, last_plan),
      last_error = ${outcome.error ?? null},
      attempts = case when ${outcome.status} = 'failed' then attempts + 1 else 0 end,
      synced_at = case when ${outcome.status} in ('synced', 'awaiting-login', 'deleted') then clock_timestamp() else synced_at end
    where tenant_id = ${tenantId} and user_id = ${userId}
    returning status`.execute(db);
  return rows[0]?.status;
}

/** Users counted by sync status, for `provisio status` and metrics. */
export async function syncStatusCounts(db: Db, tenantId: string): Promise<Record<string, number>> {
  const rows = await db.selectFrom('user_sync').select(['status', sql<string>`count(*)`.as('n')]).where('tenant_id', '=', tenantId).groupBy('status').execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** Deprovisions of this tenant recorded since `since` (for the mass-deprovision guard). */
export async function recentDeprovisions(db: Db, tenantId: string, since: Date): Promise<number> {
  const row = await sql<{ n: string }>`select count(*) as n from user_sync
    where tenant_id = ${tenantId} and changed_at >= ${since}
      and (deleted_at is not null or (applied ->> 'blocked')::boolean is distinct from true and user_id in (
        select id from users where tenant_id = ${tenantId} and active = false))`.execute(db);
  return Number(row.rows[0]?.n ?? 0);
}

export async function holdUser(db: Db, tenantId: string, userId: string, reason: string): Promise<void> {
  await sql`insert into sync_holds (tenant_id, user_id, reason) values (${tenantId}, ${userId}, ${reason})
    on conflict (tenant_id, user_id) do update set reason = excluded.reason`.execute(db);
}

export async function listHolds(db: Db, tenantId: string): Promise<{ user_id: string; reason: string; held_at: Date }[]> {
  return db.selectFrom('sync_holds').select(['user_id', 'reason', 'held_at']).where('tenant_id', '=', tenantId).orderBy('held_at').execute();
}

/**
 * Releases every hold of the tenant and returns the users to resync. They are marked pending with an old
 * change time, so their job finds no hold and the guard, which counts recent changes, does not trip again.
 */
export async function releaseHolds(db: Db, tenantId: string): Promise<string[]> {
  const rows = await db.deleteFrom('sync_holds').where('tenant_id', '=', tenantId).returning('user_id').execute();
  const ids = rows.map((r) => r.user_id);
  if (ids.length > 0) {
    await db.updateTable('user_sync').set({ status: 'pending', changed_at: new Date(0) }).where('tenant_id', '=', tenantId).where('user_id', 'in', ids).execute();
  }
  return ids;
}

/**
 * Makes the tenant's failed users (or those of `userIds` that failed) pending again with a fresh attempt
 * count; returns their ids for the caller to queue. `changed_at` stays: a retry is no new directory change,
 * so the mass-deprovisioning guard, which counts recent changes, does not count it again.
 */
export async function retryFailed(db: Db, tenantId: string, userIds?: readonly string[]): Promise<string[]> {
  let update = db.updateTable('user_sync').set({ status: 'pending', attempts: 0 }).where('tenant_id', '=', tenantId).where('status', '=', 'failed');
  if (userIds) update = update.where('user_id', 'in', userIds.length > 0 ? [...userIds] : ['00000000-0000-0000-0000-000000000000']);
  const rows = await update.returning('user_id').execute();
  return rows.map((r) => r.user_id);
}

export async function isHeld(db: Db, tenantId: string, userId: string): Promise<boolean> {
  const row = await db.selectFrom('sync_holds').select('user_id').where('tenant_id', '=', tenantId).where('user_id', '=', userId).executeTakeFirst();
  return row !== undefined;
}

/** Per minute: users synced, and the median and longest time from the directory change to Auth0. */
export interface SyncLagMinute {
  readonly minute: Date;
  readonly synced: number;
  readonly p50Ms: number;
  readonly maxMs: number;
}

/**
 * Sync lag over the last `hours`, from each user's latest sync (`changed_at` → `synced_at`): a user synced
 * twice in the window counts once, at its latest. Releases and retries keep an old `changed_at` on purpose
 * (the guard), so changes older than a day before their sync are left out rather than drawn as lag.
 */
export async function syncLagPerMinute(db: Db, tenantId: string, hours: number): Promise<SyncLagMinute[]> {
  const { rows } = await sql<{ minute: Date; synced: string; p50: number; max: number }>`
    select date_trunc('minute', synced_at) as minute, count(*) as synced,
      percentile_cont(0.5) within group (order by extract(epoch from synced_at - changed_at)) * 1000 as p50,
      max(extract(epoch from synced_at - changed_at)) * 1000 as max
    from user_sync
    where tenant_id = ${tenantId} and synced_at >= now() - make_interval(hours => ${hours}::int)
      and synced_at >= changed_at and changed_at > synced_at - interval '1 day'
    group by 1 order by 1`.execute(db);
  return rows.map((r) => ({ minute: r.minute, synced: Number(r.synced), p50Ms: Math.round(Number(r.p50)), maxMs: Math.round(Number(r.max)) }));
}
