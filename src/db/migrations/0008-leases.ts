import { sql, type Kysely } from 'kysely';

/**
 * Leases: a named role that one process at a time holds until `expires_at` unless it renews it. `sync`
 * is the Auth0 sync worker: Auth0 meters the Management API per Auth0 tenant, so replicas that each paced
 * themselves against the whole bucket drew 429s; the replica holding the lease runs the sync, the others
 * stand by and take over when it stops renewing. Frozen once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table leases (
    name text primary key,
    holder text not null,
    acquired_at timestamptz not null default now(),
    expires_at timestamptz not null
  )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists leases`.execute(db);
}
