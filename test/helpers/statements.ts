import type { DatabaseHandle } from '../../src/db/client.js';

/**
 * Counts the statements the pool's connections run (BEGIN and COMMIT included) while `fn` runs. Whatever else
 * shares the pool (a sync worker, a job queue's supervision, the SCIM request recorder's batches) is counted
 * too: stop it or flush it first.
 */
export async function statementsOf(database: DatabaseHandle, fn: () => Promise<unknown>): Promise<number> {
  let n = 0;
  let active = true;
  const counted = new WeakSet<object>();
  const count = (client: { query: (...args: unknown[]) => unknown }) => {
    if (counted.has(client)) return;
    counted.add(client);
    const query = client.query.bind(client);
    client.query = (...args: unknown[]) => {
      if (active) n++;
      return query(...args);
    };
  };
  const onAcquire = (client: unknown) => count(client as never);
  database.pool.on('acquire', onAcquire);
  try {
    await fn();
  } finally {
    active = false;
    database.pool.off('acquire', onAcquire);
  }
  return n;
}
