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

/** Deletes the tenant and, by cascade, its tokens and directory. */
export async function deleteTenant(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('tenants').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
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
