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
export class StatementCanceller {
  private pending: AbortSignal | undefined;

  constructor(private readonly pool: pg.Pool) {
    const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
    const patched = (...args: unknown[]): unknown => {
      const signal = this.pending;
      // The callback form (pg-pool's own `pool.query`) is left alone.
      if (!signal || args.length > 0) return (connect as (...a: unknown[]) => unknown)(...args);
      return connect().then((client) => {
        this.watchClient(client, signal);
        return client;
      });
    };
    (pool as unknown as { connect: typeof patched }).connect = patched;
  }

  /** Runs `start`; the first database connection it takes is cancelled if `signal` aborts while held. */
  watch<T>(signal: AbortSignal, start: () => Promise<T>): Promise<T> {
    this.pending = signal;
    try {
      return start();
    } finally {
      this.pending = undefined;
    }
  }

  private watchClient(client: pg.PoolClient, signal: AbortSignal): void {
    const pid = (client as unknown as { processID?: number }).processID;
    if (typeof pid !== 'number') return;
    let cancelled = false;
    const onAbort = () => {
      cancelled = true;
      this.pool.query('select pg_cancel_backend($1)', [pid]).catch(() => undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const release = client.release.bind(client);
    client.release = ((err?: Error | boolean) => {
      signal.removeEventListener('abort', onAbort);
      client.release = release;
      return release(cancelled ? new Error('statement cancelled: the HTTP client went away') : err);
    }) as typeof client.release;
  }
}
