import { sql, type Kysely } from 'kysely';

/**
 * The SCIM request audit trail: one row per SCIM request of an existing tenant (who, from where, what,
 * the answer, how long), written in batches off the request path (src/scim/audit-trail.ts) and pruned
 * after SCIM_AUDIT_RETENTION_DAYS. `id` is the paging and polling cursor: monotonic per insert. Bodies
 * are kept only as a redacted summary. No foreign key to tenants: its check was a quarter of each batch
 * insert's cost; the insert joins `tenants` instead and deleting a tenant deletes its trail
 * (src/db/tenants.ts). Frozen once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table scim_requests (
    id bigint generated always as identity primary key,
    tenant_id uuid not null,
    at timestamptz not null,
    token_id uuid,
    source_ip text,
    method text,
    path text,
    status smallint,
    latency_ms real,
    dialect text,
    resource_type text,
    resource_id uuid,
    scim_type text,
    error_detail text,
    summary text
  )`.execute(db);
  await sql`create index scim_requests_tenant_id_idx on scim_requests (tenant_id, id desc)`.execute(db);
  // A user's or group's timeline (the admin API's /users/{id}/timeline): the requests that named it.
  await sql`create index scim_requests_resource_idx on scim_requests (tenant_id, resource_id, id desc) where resource_id is not null`.execute(db);
  // Pruning finds old rows by time over all tenants: rows arrive in time order, so a BRIN index (a few
  // pages for millions of rows, nearly free to maintain) narrows the scan to the oldest blocks.
  await sql`create index scim_requests_at_brin on scim_requests using brin (at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists scim_requests`.execute(db);
}
