import { sql, type Kysely } from 'kysely';

/**
 * The Okta mirror (issue 18, docs/okta-mirror.md): a tenant's optional Okta binding, and per directory user
 * the mirror's state in Okta — the linked Okta user, what was last applied, and the outcome of the last job.
 *
 * - `tenant_okta_bindings.binding` is the validated document of src/okta/binding.ts, credentials sealed.
 * - `okta_mirror` outlives the directory user (as `user_sync` does): a deleted user still has to be
 *   deactivated or deleted in Okta, and the stored `okta_user_id` is what finds it. `status`:
 *   `pending` (a job is due), `mirrored`, `deactivated`, `deleted` (gone from Okta), `failed` (permanent
 *   error, see `last_error`).
 * - `user_history` takes `okta` runs too (the user's timeline).
 *
 * Frozen once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table tenant_okta_bindings (
    tenant_id uuid primary key references tenants(id) on delete cascade,
    binding jsonb not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  )`.execute(db);
  await sql`create table okta_mirror (
    tenant_id uuid not null references tenants(id) on delete cascade,
    user_id uuid not null,
    okta_user_id text,
    status text not null check (status in ('pending', 'mirrored', 'deactivated', 'deleted', 'failed')),
    -- What the last successful job left in Okta (profile, status, managed groups): skips the reads when nothing changed.
    applied jsonb,
    last_plan jsonb,
    last_error text,
    attempts int not null default 0,
    changed_at timestamptz not null default now(),
    mirrored_at timestamptz,
    primary key (tenant_id, user_id)
  )`.execute(db);
  await sql`create index okta_mirror_status on okta_mirror (tenant_id, status)`.execute(db);
  // Okta mirror runs join the user's timeline beside the Auth0 sync runs and the login decisions.
  await sql`alter table user_history drop constraint user_history_kind,
    add constraint user_history_kind check (kind in ('sync', 'login', 'okta'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from user_history where kind = 'okta'`.execute(db);
  await sql`alter table user_history drop constraint user_history_kind,
    add constraint user_history_kind check (kind in ('sync', 'login'))`.execute(db);
  await sql`drop table if exists okta_mirror`.execute(db);
  await sql`drop table if exists tenant_okta_bindings`.execute(db);
}
