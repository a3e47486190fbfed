/**
 * The directory reads and writes of a login decision: which tenant and directory user an Auth0 login
 * belongs to, recording the Auth0 user id of a pending user, and JIT users. Plain functions taking
 * `db | trx` first (STYLE.md habit 6); they live beside the decision because nothing else needs them.
 */
import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from '../db/schema.js';
import { insertUser } from '../db/users.js';
import { parseSyncConfig, type SyncConfig } from '../sync/config.js';

type Db = Kysely<Database> | Transaction<Database>;

/** A bound tenant with its validated configuration. */
export interface BoundTenant {
  readonly tenantId: string;
  readonly config: SyncConfig;
}

/** Every bound tenant; a stored configuration that no longer validates is skipped (it syncs nothing either). */
export async function loadBoundTenants(db: Db): Promise<BoundTenant[]> {
  const rows = await db.selectFrom('tenant_sync_config').select(['tenant_id', 'binding', 'rules', 'guard']).execute();
  const out: BoundTenant[] = [];
  for (const row of rows) {
    try {
      out.push({ tenantId: row.tenant_id, config: parseSyncConfig(row) });
    } catch {
      // An invalid stored binding cannot be judged against; the decision treats the tenant as unbound.
    }
  }
  return out;
}

/** One bound tenant read now (undefined when unbound or its stored binding no longer validates). */
export async function loadBoundTenant(db: Db, tenantId: string): Promise<BoundTenant | undefined> {
  const row = await db.selectFrom('tenant_sync_config').select(['tenant_id', 'binding', 'rules', 'guard']).where('tenant_id', '=', tenantId).executeTakeFirst();
  if (!row) return undefined;
  try {
    return { tenantId: row.tenant_id, config: parseSyncConfig(row) };
  } catch {
    return undefined;
  }
}

/** A directory user as the decision sees it. */
export interface LoginDirectoryRow {
  readonly userId: string;
  readonly auth0UserId: string | null;
  readonly status: string | null;
  readonly applied: Record<string, unknown> | null;
  /** `users.active`; null when the directory row is gone (deleted) or was not read. */
  readonly active?: boolean | null;
  /** An admin override exists (src/admin/user-actions.ts); absent when not read. */
  readonly overridden?: boolean;
}

/**
 * One indexed statement answers a provisioned user's login (the hot path: no Auth0 call, no second query).
 * The override join (primary key) lets the decision skip the applied state of an overridden user even when
 * the override was recorded without a sync being queued.
 */
const BY_AUTH0_ID = `select s.user_id, s.auth0_user_id, s.status, s.applied, u.active, o.user_id is not null as overridden from user_sync s
  left join users u on u.tenant_id = s.tenant_id and u.id = s.user_id
  left join user_admin_overrides o on o.tenant_id = s.tenant_id and o.user_id = s.user_id
  where s.tenant_id = $1 and s.auth0_user_id = $2 limit 1`;

interface SyncRow {
  user_id: string;
  auth0_user_id: string | null;
  status: string | null;
  applied: Record<string, unknown> | null;
  active?: boolean | null;
  overridden?: boolean;
}

function toRow(r: SyncRow): LoginDirectoryRow {
  return {
    userId: r.user_id, auth0UserId: r.auth0_user_id, status: r.status, applied: r.applied,
    ...(r.active !== undefined ? { active: r.active } : {}),
    ...(r.overridden !== undefined ? { overridden: r.overridden } : {}),
  };
}

/** The tenant's directory user already linked to this Auth0 user (index user_sync_auth0; the hot path). */
export async function findByAuth0UserId(db: Db, tenantId: string, auth0UserId: string): Promise<LoginDirectoryRow | undefined> {
  const result = await db.executeQuery<SyncRow>(CompiledQuery.raw(BY_AUTH0_ID, [tenantId, auth0UserId]));
  const row = result.rows[0];
  return row ? toRow(row) : undefined;
}

/** Tenants other than `tenantId` whose directory holds this Auth0 user (cross-tenant check, slow path only). */
export async function otherTenantsOf(db: Db, tenantId: string, auth0UserId: string): Promise<string[]> {
  const { rows } = await sql<{ tenant_id: string }>`select distinct tenant_id from user_sync
    where auth0_user_id = ${auth0UserId} and tenant_id <> ${tenantId}`.execute(db);
  return rows.map((r) => r.tenant_id);
}

/** The tenant's directory users with this email (case-insensitive: Auth0 lower-cases, IdPs do not). */
export async function findByEmail(db: Db, tenantId: string, email: string): Promise<LoginDirectoryRow[]> {
  const { rows } = await sql<SyncRow>`select u.id as user_id, s.auth0_user_id, s.status, s.applied
    from users u left join user_sync s on s.tenant_id = u.tenant_id and s.user_id = u.id
    where u.tenant_id = ${tenantId} and lower(u.email) = ${email.toLowerCase()}
    order by u.created_at limit 5`.execute(db);
  return rows.map(toRow);
}

/** Records the Auth0 user id of a directory user that had none (awaiting its first login); false if one was set meanwhile. */
export async function recordAuth0UserId(db: Db, tenantId: string, userId: string, auth0UserId: string): Promise<boolean> {
  const result = await sql`update user_sync set auth0_user_id = ${auth0UserId}
    where tenant_id = ${tenantId} and user_id = ${userId} and auth0_user_id is null`.execute(db);
  return Number(result.numAffectedRows ?? 0n) > 0;
}

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';

/**
 * A user provisioned just in time: a directory user of the tenant (so status, rules and deprovisioning
 * treat it like any other), named by its verified email, or by its Auth0 id when it has none.
 */
export async function insertJitUser(db: Db, tenantId: string, facts: { email: string | null; auth0UserId: string }): Promise<string> {
  const userName = facts.email ?? facts.auth0UserId;
  const id = uuidv7();
  await insertUser(db, tenantId, id, {
    userName,
    externalId: null,
    displayName: null,
    active: true,
    email: facts.email,
    data: { schemas: [USER_URN], userName, active: true, ...(facts.email ? { emails: [{ value: facts.email, type: 'work', primary: true }] } : {}) },
  });
  return id;
}
