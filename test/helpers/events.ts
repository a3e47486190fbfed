import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/schema.js';
import { hasUnsequencedEvents, sequenceEvents } from '../../src/events/sequencer.js';

/**
 * Numbers every event waiting in the outbox. One round may leave some: the sequencer waits for every older
 * writing transaction in the database to end (pg_snapshot_xmin), and other test files write in the same
 * database at the same time.
 */
export async function sequenceAll(db: Kysely<Database>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await sequenceEvents(db, undefined);
    if (!(await hasUnsequencedEvents(db))) return;
    if (Date.now() > deadline) throw new Error('events still unnumbered after the timeout');
    await new Promise((r) => setTimeout(r, 20));
  }
}
