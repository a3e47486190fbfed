import { sql, type Kysely } from 'kysely';

/**
 * Password-change ticket URLs were kept in the clear in `user_sync.applied`; they are sealed now
 * (src/sync/sync-user.ts). Drop the clear ones already stored — they are credentials — keeping the fact
 * that a ticket was issued. Frozen once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`update user_sync
    set applied = jsonb_set(applied, '{onboarding}', ((applied -> 'onboarding') - 'ticketUrl') || '{"ticketIssued": true}'::jsonb)
    where applied -> 'onboarding' ? 'ticketUrl'`.execute(db);
}

export async function down(): Promise<void> {
  // The URLs are gone on purpose.
}
