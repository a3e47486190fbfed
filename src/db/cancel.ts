import type pg from 'pg';

/**
 * Cancels the statement of a request whose HTTP client went away, so an abandoned list or search (a
 * filter over a big tenant, a deep page) stops using a PostgreSQL backend at once instead of running
 * until `statement_timeout`.
 *
 * Which pooled connection serves which request is learnt without per-request context (AsyncLocalStorage
 * turns on promise hooks for every await on Node 20): `watch(signal, start)` marks `signal` as pending
 * while `start` runs synchronously, and the pool's `connect` takes it. Kysely calls `pool.connect()` in
 * the same synchronous run as `execute()` (compile, executor, driver: no await before the checkout), so
 * the first statement `start` runs is the one watched; a connect from any other request never sees the
 * mark, which is cleared before `watch` returns. Should a future Kysely await before connecting, nothing
 * is watched: requests are then bounded by `statement_timeout` alone, never cancelled by mistake.
 *
 * On abort, while the connection is checked out: `pg_cancel_backend(pid)` from another connection, and the
 * connection is destroyed on release rather than reused, so a cancel PostgreSQL delivers late can never
 * hit the next request's statement.
 */
/** Whoever waits for the statement's result: `gone` is called when it stops waiting; the returned function unsubscribes. */
export type Waiter = (gone: () => void) => () => void;

export class StatementCanceller {
  private pending: Waiter | undefined;

  constructor(private readonly pool: pg.Pool) {
    const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
    const patched = (...args: unknown[]): unknown => {
      const waiter = this.pending;
      // The callback form (pg-pool's own `pool.query`) is left alone.
      if (!waiter || args.length > 0) return (connect as (...a: unknown[]) => unknown)(...args);
      return connect().then((client) => {
        this.watchClient(client, waiter);
        return client;
      });
    };
    (pool as unknown as { connect: typeof patched }).connect = patched;
  }

  /** Runs `start`; the first database connection it takes is cancelled if `waiter` goes away while it is held. */
  watch<T>(waiter: Waiter, start: () => Promise<T>): Promise<T> {
    this.pending = waiter;
    try {
      return start();
    } finally {
      this.pending = undefined;
    }
  }

  private watchClient(client: pg.PoolClient, waiter: Waiter): void {
    const pid = (client as unknown as { processID?: number }).processID;
    if (typeof pid !== 'number') return;
    let cancelled = false;
    const unsubscribe = waiter(() => {
      cancelled = true;
      this.pool.query('select pg_cancel_backend($1)', [pid]).catch(() => undefined);
    });
    const release = client.release.bind(client);
    client.release = ((err?: Error | boolean) => {
      unsubscribe();
      client.release = release;
      return release(cancelled ? new Error('statement cancelled: the HTTP client went away') : err);
    }) as typeof client.release;
  }
}
