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
  // Keyed by (tenant, id): one B-tree serves every tenant's paging and polling. Each index is paid on every
  // audited request (thousands a second on a busy replica), so there are as few as the reads need.
  await sql`create table scim_requests (
    tenant_id uuid not null,
    id bigint generated always as identity,
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
    summary text,
    -- How many requests the row stands for: 1, or the successful reads beyond SCIM_AUDIT_READS_PER_SECOND
    -- counted in one row rather than listed.
    requests integer not null default 1,
    primary key (tenant_id, id)
  )`.execute(db);
  // A user's or group's timeline (the admin API's /users/{id}/timeline): the writes and refusals that named
  // it. Successful reads are left out of this index, so the busiest kind of request adds no entry to it.
  await sql`create index scim_requests_resource_idx on scim_requests (tenant_id, resource_id, id desc)
    where resource_id is not null and (method <> 'GET' or status >= 400)`.execute(db);
  // Pruning finds old rows by time over all tenants: rows arrive in time order, so a BRIN index (a few
  // pages for millions of rows, nearly free to maintain) narrows the scan to the oldest blocks.
  await sql`create index scim_requests_at_brin on scim_requests using brin (at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists scim_requests`.execute(db);
}
