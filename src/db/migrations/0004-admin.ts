import { sql, type Kysely } from 'kysely';

/**
 * The operator's side: admin API tokens (operator tokens for every tenant, or delegated tokens scoped to
 * one tenant), admin overrides of a directory user's Auth0 state (blocked, removed from the org, erased),
 * and the admin audit trail. Frozen once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Not tenant-owned when tenant_id is null (an operator token): looked up by hash only.
  await sql`create table admin_tokens (
    id uuid primary key,
    tenant_id uuid references tenants(id) on delete cascade,
    label text not null,
    token_hash bytea not null unique,
    token_prefix text not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz
  )`.execute(db);
  await sql`create index admin_tokens_tenant on admin_tokens (tenant_id)`.execute(db);

  // No foreign key to users: an erase removes the directory row while the override still drives the
  // Auth0 deletion.
  await sql`create table user_admin_overrides (
    tenant_id uuid not null references tenants(id) on delete cascade,
    user_id uuid not null,
    blocked boolean not null default false,
    removed_from_org boolean not null default false,
    erase boolean not null default false,
    actor text not null,
    reason text,
    updated_at timestamptz not null default now(),
    primary key (tenant_id, user_id)
  )`.execute(db);

  await sql`create table admin_audit (
    tenant_id uuid not null references tenants(id) on delete cascade,
    id uuid not null,
    at timestamptz not null default now(),
    actor text not null,
    action text not null,
    target text,
    detail jsonb not null default '{}',
    primary key (tenant_id, id)
  )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table admin_audit`.execute(db);
  await sql`drop table user_admin_overrides`.execute(db);
  await sql`drop table admin_tokens`.execute(db);
}
