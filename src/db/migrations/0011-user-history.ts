import { sql, type Kysely } from 'kysely';

/**
 * A user's history beside its SCIM requests and admin actions (the admin API's user timeline): one row per
 * sync job run (its outcome, attempt, and the Auth0 Management API calls it made, at most 20 of them by
 * operation template, status and duration) and one per Post-Login decision (allowed, denied with the
 * reason, provisioned just in time). Written in batches off the sync and login paths
 * (src/sync/history-recorder.ts) and pruned with the SCIM request trail after SCIM_AUDIT_RETENTION_DAYS.
 * Never a request body, token or secret. No foreign key to tenants, as for `scim_requests`: the insert
 * joins `tenants` and deleting a tenant deletes its history (src/db/tenants.ts). Frozen once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table user_history (
    tenant_id uuid not null,
    id bigint generated always as identity,
    -- When the run ended or the decision was answered; it began duration_ms earlier.
    at timestamptz not null,
    -- The directory user; null for a login by an Auth0 user the directory does not (yet) know.
    user_id uuid,
    auth0_user_id text,
    kind text not null constraint user_history_kind check (kind in ('sync', 'login')),
    outcome text not null,
    -- The error of a failed run, the reason of a denied login, the changes a run planned: at most 500 characters.
    detail text,
    duration_ms real,
    attempt smallint,
    -- Small, kind-specific facts: a failed run's retry, a login's organization and connection.
    facts jsonb,
    -- [{ operation, status, failure, durationMs, atMs, batchedUsers? }]: the first and last calls of the run.
    calls jsonb,
    -- Calls made between the kept first and last ones and not kept.
    calls_omitted integer not null default 0,
    primary key (tenant_id, id)
  )`.execute(db);
  // The timeline reads a user's rows newest first.
  await sql`create index user_history_user_idx on user_history (tenant_id, user_id, id desc) where user_id is not null`.execute(db);
  // Logins of someone the directory did not know then, found again once the user's Auth0 id is known.
  await sql`create index user_history_auth0_idx on user_history (tenant_id, auth0_user_id, id desc) where user_id is null`.execute(db);
  // Pruning by time over all tenants, as for scim_requests: rows arrive in time order.
  await sql`create index user_history_at_brin on user_history using brin (at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists user_history`.execute(db);
}
