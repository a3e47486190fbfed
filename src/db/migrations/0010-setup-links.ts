import { sql, type Kysely } from 'kysely';

/**
 * Admin credentials gain a kind. `token` is the admin API token of 0004. `setup-link` is the secret of a
 * customer setup link: a delegated, tenant-bound credential that always expires, opened in the web
 * console by the customer's IT admin. `sign-in` is a one-time operator sign-in code for the console,
 * spent (revoked) when it is exchanged for an operator session token. They share the table because they
 * share everything else: hashed storage, expiry, revocation, the delegated tenant. Frozen once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table admin_tokens add column kind text not null default 'token'
    constraint admin_tokens_kind check (kind in ('token', 'setup-link', 'sign-in'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from admin_tokens where kind <> 'token'`.execute(db);
  await sql`alter table admin_tokens drop column kind`.execute(db);
}
