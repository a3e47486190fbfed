import { sql, type Kysely } from 'kysely';

/**
 * Secrets the server itself generates and every replica must share, kept in the database they share:
 * `cursor` signs SCIM paging cursors (RFC 9865), so a cursor issued by one replica is accepted by another
 * and a client cannot forge or alter one. 256 bits from PostgreSQL's strong random source
 * (`gen_random_uuid`, 122 random bits each, hashed together). Frozen once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table server_keys (
    name text primary key,
    secret text not null,
    created_at timestamptz not null default now()
  )`.execute(db);
  await sql`insert into server_keys (name, secret) values ('cursor',
    encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists server_keys`.execute(db);
}
