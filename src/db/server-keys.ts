import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A server-generated secret (migration 0007), e.g. `cursor`; undefined when the database has none. */
export async function findServerKey(db: Kysely<Database>, name: string): Promise<Buffer | undefined> {
  const row = await db.selectFrom('server_keys').select('secret').where('name', '=', name).executeTakeFirst();
  return row ? Buffer.from(row.secret, 'hex') : undefined;
}
