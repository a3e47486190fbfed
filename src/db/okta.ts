import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, OktaMirrorStatus } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** A tenant's stored Okta binding document (validated by src/okta/binding.ts), or undefined. */
export async function findOktaBinding(db: Db, tenantId: string): Promise<Record<string, unknown> | undefined> {
  const row = await db.selectFrom('tenant_okta_bindings').select('binding').where('tenant_id', '=', tenantId).executeTakeFirst();
  return row?.binding;
}

export async function saveOktaBinding(db: Db, tenantId: string, binding: Record<string, unknown>): Promise<void> {
  const json = JSON.stringify(binding);
  await db.insertInto('tenant_okta_bindings').values({ tenant_id: tenantId, binding: json })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ binding: json, updated_at: new Date() }))
    .execute();
}

/** Removes the binding; the mirror rows stay (they name the Okta users a later binding links to again). */
export async function deleteOktaBinding(db: Db, tenantId: string): Promise<boolean> {
  const rows = await db.deleteFrom('tenant_okta_bindings').where('tenant_id', '=', tenantId).returning('tenant_id').execute();
  return rows.length > 0;
}

/** Tenants that mirror into Okta (what `provisio reconcile --sink okta` without `--tenant` covers). */
export async function oktaBoundTenantIds(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('tenant_okta_bindings').select('tenant_id').execute();
  return rows.map((r) => r.tenant_id);
}

/** Whether any tenant mirrors into Okta (the mirror's worker idles while none does). */
export async function anyOktaBinding(db: Db): Promise<boolean> {
  const row = await db.selectFrom('tenant_okta_bindings').select('tenant_id').limit(1).executeTakeFirst();
  return row !== undefined;
}

export async function isOktaBound(db: Db, tenantId: string): Promise<boolean> {
  const row = await db.selectFrom('tenant_okta_bindings').select('tenant_id').where('tenant_id', '=', tenantId).executeTakeFirst();
  return row !== undefined;
}

/** Marks users' mirrors due (in the transaction that enqueues their jobs), set-wise. */
export async function markMirrorsPending(db: Db, tenantId: string, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  await sql`insert into okta_mirror (tenant_id, user_id, status, changed_at)
    select ${tenantId}, u, 'pending', clock_timestamp() from unnest(${userIds}::uuid[]) as u
    on conflict (tenant_id, user_id) do update set status = 'pending', changed_at = excluded.changed_at`.execute(db);
}

export interface OktaMirrorRow {
  readonly user_id: string;
  readonly okta_user_id: string | null;
  readonly status: OktaMirrorStatus;
  readonly applied: Record<string, unknown> | null;
  readonly last_plan: unknown[] | null;
  readonly last_error: string | null;
  readonly attempts: number;
  readonly changed_at: Date;
  readonly mirrored_at: Date | null;
}

const MIRROR_COLUMNS = ['user_id', 'okta_user_id', 'status', 'applied', 'last_plan', 'last_error', 'attempts', 'changed_at', 'mirrored_at'] as const;

export async function findMirror(db: Db, tenantId: string, userId: string): Promise<OktaMirrorRow | undefined> {
  return db.selectFrom('okta_mirror').select(MIRROR_COLUMNS).where('tenant_id', '=', tenantId).where('user_id', '=', userId).executeTakeFirst();
}

export interface MirrorOutcome {
  readonly status: OktaMirrorStatus;
  readonly oktaUserId?: string | null;
  readonly applied?: Record<string, unknown> | null;
  readonly plan?: unknown[];
  readonly error?: string | null;
}

/**
 * Records a mirror job's outcome; returns the status left. As for the Auth0 sync (src/db/sync.ts), a change
 * that arrived while the job ran (`changed_at` moved from what the job read) keeps `pending`, and the caller
 * queues the user again. `oktaUserId: null` unlinks (the Okta user was deleted).
 */
export async function recordMirrorOutcome(db: Db, tenantId: string, userId: string, seenChangedAt: Date | null, outcome: MirrorOutcome): Promise<OktaMirrorStatus | undefined> {
  const link = outcome.oktaUserId === undefined ? sql`m.okta_user_id` : sql`${outcome.oktaUserId}::text`;
  const applied = outcome.applied === undefined ? sql`m.applied` : sql`${outcome.applied === null ? null : JSON.stringify(outcome.applied)}::jsonb`;
  const { rows } = await sql<{ status: OktaMirrorStatus }>`insert into okta_mirror as m (tenant_id, user_id, status, changed_at) values (${tenantId}, ${userId}, 'pending', clock_timestamp())
    on conflict (tenant_id, user_id) do update set
      status = case when ${seenChangedAt}::timestamptz is not null and date_trunc('milliseconds', m.changed_at) > ${seenChangedAt}::timestamptz
        and ${outcome.status} <> 'failed' then 'pending' else ${outcome.status} end,
      okta_user_id = ${link},
      applied = ${applied},
      last_plan = coalesce(${outcome.plan ? JSON.stringify(outcome.plan) : null}::jsonb, m.last_plan),
      last_error = ${outcome.error ?? null},
      attempts = case when ${outcome.status} = 'failed' then m.attempts + 1 else 0 end,
      mirrored_at = case when ${outcome.status} = 'failed' then m.mirrored_at else clock_timestamp() end
    returning status`.execute(db);
  return rows[0]?.status;
}

/** Records the Okta user a run just created or adopted, before the rest of the run (which may fail). */
export async function linkMirror(db: Db, tenantId: string, userId: string, oktaUserId: string): Promise<void> {
  await db.updateTable('okta_mirror').set({ okta_user_id: oktaUserId }).where('tenant_id', '=', tenantId).where('user_id', '=', userId).execute();
}

/** Marks what was applied as no longer certain: a run is changing Okta (cleared when it records its outcome). */
export async function markMirrorDirty(db: Db, tenantId: string, userId: string): Promise<void> {
  await sql`update okta_mirror set applied = applied || '{"dirty": true}'::jsonb
    where tenant_id = ${tenantId} and user_id = ${userId} and applied is not null`.execute(db);
}

/** Removes a user's mirror row (an erased user, once its Okta user is gone). */
export async function forgetMirror(db: Db, tenantId: string, userId: string): Promise<void> {
  await db.deleteFrom('okta_mirror').where('tenant_id', '=', tenantId).where('user_id', '=', userId).execute();
}

/** Mirrors counted by status, for `provisio status` and metrics. */
export async function mirrorStatusCounts(db: Db, tenantId: string): Promise<Record<string, number>> {
  const rows = await db.selectFrom('okta_mirror').select(['status', sql<string>`count(*)`.as('n')]).where('tenant_id', '=', tenantId).groupBy('status').execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** The tenant's failed mirrors, newest first (for `provisio status` and the admin API). */
export async function failedMirrors(db: Db, tenantId: string, limit = 50): Promise<OktaMirrorRow[]> {
  return db.selectFrom('okta_mirror').select(MIRROR_COLUMNS).where('tenant_id', '=', tenantId).where('status', '=', 'failed')
    .orderBy('changed_at', 'desc').limit(limit).execute();
}

/** Makes failed mirrors pending again (all of the tenant's, or those of `userIds`); returns the users to queue. */
export async function retryFailedMirrors(db: Db, tenantId: string, userIds?: readonly string[]): Promise<string[]> {
  let update = db.updateTable('okta_mirror').set({ status: 'pending', attempts: 0 }).where('tenant_id', '=', tenantId).where('status', '=', 'failed');
  if (userIds) update = update.where('user_id', 'in', userIds.length > 0 ? [...userIds] : ['00000000-0000-0000-0000-000000000000']);
  const rows = await update.returning('user_id').execute();
  return rows.map((r) => r.user_id);
}
