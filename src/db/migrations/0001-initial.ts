import { sql, type Kysely } from 'kysely';

/**
 * Tenants, SCIM tokens, directory users, groups and memberships. Every tenant-owned table leads its
 * primary key and indexes with `tenant_id` so the schema can be distributed by tenant (DESIGN.md).
 * Frozen: never edit a migration that has shipped; add a new one.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('settings', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('scim_tokens')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'bytea', (c) => c.notNull())
    .addColumn('token_prefix', 'text', (c) => c.notNull())
    .addColumn('scopes', sql`text[]`, (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addPrimaryKeyConstraint('scim_tokens_pk', ['tenant_id', 'id'])
    .execute();
  // Looked up by hash on every request (the hash is of a 256-bit random token, so it is itself secret-free).
  await db.schema.createIndex('scim_tokens_hash').unique().on('scim_tokens').column('token_hash').execute();

  await db.schema
    .createTable('users')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addColumn('display_name', 'text')
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('email', 'text')
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('users_pk', ['tenant_id', 'id'])
    .execute();
  // userName is unique per tenant, case-insensitively (RFC 7643 §4.1.1: caseExact false, uniqueness server).
  await sql`create unique index users_user_name on users (tenant_id, lower(user_name))`.execute(db);
  await db.schema.createIndex('users_external_id').on('users').columns(['tenant_id', 'external_id']).execute();
  await db.schema.createIndex('users_email').on('users').columns(['tenant_id', 'email']).execute();

  await db.schema
    .createTable('groups')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('groups_pk', ['tenant_id', 'id'])
    .execute();
  await sql`create unique index groups_display_name on groups (tenant_id, lower(display_name))`.execute(db);
  await db.schema.createIndex('groups_external_id').on('groups').columns(['tenant_id', 'external_id']).execute();

  await db.schema
    .createTable('group_members')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('group_id', 'uuid', (c) => c.notNull())
    .addColumn('member_id', 'uuid', (c) => c.notNull())
    .addColumn('member_type', 'text', (c) => c.notNull().check(sql`member_type in ('User', 'Group')`))
    .addPrimaryKeyConstraint('group_members_pk', ['tenant_id', 'group_id', 'member_id'])
    .addForeignKeyConstraint('group_members_group_fk', ['tenant_id', 'group_id'], 'groups', ['tenant_id', 'id'], (c) =>
      c.onDelete('cascade'),
    )
    .execute();
  // Reverse lookup: a user's groups, and removing a deleted member everywhere.
  await db.schema.createIndex('group_members_member').on('group_members').columns(['tenant_id', 'member_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['group_members', 'groups', 'users', 'scim_tokens', 'tenants']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
