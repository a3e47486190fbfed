import { sql, type Kysely } from 'kysely';

/**
 * Sync state: each tenant's Auth0 binding and role rules, the applied state per directory user (kept
 * after a SCIM DELETE as a tombstone, so deprovisioning knows the Auth0 user), and held mass
 * deprovisions. The job queue itself is pg-boss's, in its own schema. Frozen once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tenant_sync_config')
    .addColumn('tenant_id', 'uuid', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    .addColumn('binding', 'jsonb', (c) => c.notNull())
    .addColumn('rules', 'jsonb', (c) => c.notNull())
    .addColumn('guard', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('user_sync')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('auth0_user_id', 'text')
    // pending | synced | awaiting-login | held | failed | deleted
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('applied', 'jsonb')
    .addColumn('last_plan', 'jsonb')
    .addColumn('last_error', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    /** Set when the IdP deleted the user: the row is the tombstone the deprovisioning job works from. */
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('tombstone', 'jsonb')
    .addColumn('changed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('synced_at', 'timestamptz')
    .addPrimaryKeyConstraint('user_sync_pk', ['tenant_id', 'user_id'])
    .execute();
  await db.schema.createIndex('user_sync_auth0').on('user_sync').columns(['tenant_id', 'auth0_user_id']).execute();
  await db.schema.createIndex('user_sync_status').on('user_sync').columns(['tenant_id', 'status']).execute();

  await db.schema
    .createTable('sync_holds')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('held_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('sync_holds_pk', ['tenant_id', 'user_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['sync_holds', 'user_sync', 'tenant_sync_config']) await db.schema.dropTable(table).ifExists().execute();
}
