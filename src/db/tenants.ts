import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, TenantRow } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

export async function insertTenant(db: Db, tenant: { id: string; name: string; displayName: string }): Promise<TenantRow> {
  return db
    .insertInto('tenants')
    .values({ id: tenant.id, name: tenant.name, display_name: tenant.displayName, settings: '{}' })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findTenantByName(db: Db, name: string): Promise<TenantRow | undefined> {
  return db.selectFrom('tenants').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function listTenants(db: Db): Promise<TenantRow[]> {
  return db.selectFrom('tenants').selectAll().orderBy('name').execute();
}

export async function updateTenantDisplayName(db: Db, id: string, displayName: string): Promise<TenantRow | undefined> {
  return db
    .updateTable('tenants')
    .set({ display_name: displayName, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Deletes the tenant and, by cascade, its tokens, directory and webhook endpoints. Its SCIM request trail, user history and events have
 * no foreign key (a key check per audited request cost a quarter of each batch insert), so they go here, in
 * one statement with the tenant; a batch written meanwhile stores nothing for a tenant that is gone
 * (src/db/scim-requests.ts, src/db/user-history.ts).
 */
export async function deleteTenant(db: Db, id: string): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    with trail as (delete from scim_requests where tenant_id = ${id}),
      history as (delete from user_history where tenant_id = ${id}),
      outbox as (delete from events where tenant_id = ${id}),
      deliveries as (delete from webhook_deliveries where tenant_id = ${id})
    delete from tenants where id = ${id} returning id`.execute(db);
  return rows.length > 0;
}

/** Sets (or with `undefined`, removes) one key of the tenant's settings, e.g. `scimDialect`. */
export async function setTenantSetting(db: Db, id: string, key: string, value: string | undefined): Promise<TenantRow | undefined> {
  return db
    .updateTable('tenants')
    .set((eb) => ({
      settings: value === undefined ? sql<string>`settings - ${key}` : sql<string>`settings || jsonb_build_object(${key}::text, ${value}::text)`,
      updated_at: new Date(),
    }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** How many users and groups the tenant's directory holds (the trigger-kept counts of migration 0003). */
export async function directoryCounts(db: Db, tenantId: string): Promise<{ users: number; groups: number }> {
  const { rows } = await sql<{ resource: 'users' | 'groups'; n: string }>`
    select resource, coalesce(sum(n), 0) as n from resource_counts where tenant_id = ${tenantId} group by resource`.execute(db);
  const count = (resource: 'users' | 'groups') => Number(rows.find((r) => r.resource === resource)?.n ?? 0);
  return { users: count('users'), groups: count('groups') };
}
