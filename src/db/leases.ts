import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface LeaseState {
  /** Who holds the lease after this call (this process when it took or renewed it). */
  readonly holder: string;
  readonly expiresAt: Date;
}

/**
 * Takes the lease `name` for `holder` for `seconds`, or renews it when `holder` already has it; another
 * holder's lease is taken only once it expired. One statement, judged by the database's clock, so the
 * processes' clocks do not matter. Returns who holds it afterwards.
 */
export async function claimLease(db: Kysely<Database>, name: string, holder: string, seconds: number): Promise<LeaseState> {
  const { rows } = await sql<{ holder: string; expires_at: Date }>`
    insert into leases (name, holder, acquired_at, expires_at) values (${name}, ${holder}, now(), now() + make_interval(secs => ${seconds}))
    on conflict (name) do update set
      holder = excluded.holder,
      acquired_at = case when leases.holder = excluded.holder then leases.acquired_at else now() end,
      expires_at = excluded.expires_at
    where leases.holder = excluded.holder or leases.expires_at < now()
    returning holder, expires_at`.execute(db);
  const row = rows[0] ?? (await db.selectFrom('leases').select(['holder', 'expires_at']).where('name', '=', name).executeTakeFirstOrThrow());
  return { holder: row.holder, expiresAt: new Date(row.expires_at) };
}

/** Gives the lease up at once (a clean shutdown), so a standby need not wait for it to expire. */
export async function releaseLease(db: Kysely<Database>, name: string, holder: string): Promise<void> {
  await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
}
