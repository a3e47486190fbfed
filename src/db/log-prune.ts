import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Deletes every row of a time-ordered log table (`scim_requests`, `user_history`, `events`) older than `cutoff`,
 * `batchSize` rows per statement so no statement runs long or holds many locks; `stopped` is asked between
 * batches (shutdown). Rows go by address: their ids are unique per tenant only, and a ctid list needs no
 * index of its own (the `at` BRIN index finds them). Returns how many rows went.
 */
export async function pruneLogOlderThan(
  db: Db, table: 'scim_requests' | 'user_history' | 'events', cutoff: Date, batchSize = 10_000, stopped: () => boolean = () => false,
): Promise<number> {
  const statement = `delete from ${table} where ctid = any(array(select ctid from ${table} where at < $1 limit $2))`;
  let total = 0;
  for (;;) {
    const result = await db.executeQuery(CompiledQuery.raw(statement, [cutoff.toISOString(), batchSize]));
    const deleted = Number(result.numAffectedRows ?? 0n);
    total += deleted;
    if (deleted < batchSize || stopped()) return total;
  }
}
