import fs from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import lockfile from 'proper-lockfile';
import { StatementCanceller } from './cancel.js';
import type { Database } from './schema.js';

/** An open database: Kysely on top of a `pg` pool, whether the server behind it is PostgreSQL or PGlite. */
export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'pglite';
  /** The pool `db` uses (the job queue enqueues through `db`'s transactions, so both see one transaction). */
  readonly pool: pg.Pool;
  /**
   * The sync worker's and the job queue's connections. On PostgreSQL with `timeouts` a pool of their own
   * with the longer sync statement timeout; otherwise the same `db` and `pool`.
   */
  readonly sync: { readonly db: Kysely<Database>; readonly pool: pg.Pool };
  /** Runs `work` on a connection without statement timeout: migrations may take long. */
  unbounded<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /** PostgreSQL only: cancels the statement of a request whose HTTP client went away (src/db/cancel.ts). */
  readonly canceller?: StatementCanceller;
  /** PGlite only: a copy of the whole data directory (used to clone a migrated database quickly). */
  dump?(): Promise<Blob>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** PostgreSQL connection string. When absent, embedded PGlite is used. */
  readonly databaseUrl?: string;
  /** PGlite data directory, or `memory://` for a throwaway in-memory database. */
  readonly dataDir?: string;
  readonly poolMax?: number;
  /** PostgreSQL only: schema to work in (tests isolate themselves this way). */
  readonly searchPath?: string;
  /** PGlite only: start from this dumped data directory (`PGlite.dumpDataDir`) instead of running initdb. */
  readonly pgliteTemplate?: Blob;
  /** PostgreSQL only: bounds on every wait (`config.database`); absent, waits are unbounded (one-off CLI commands). */
  readonly timeouts?: DatabaseTimeoutOptions;
  /**
   * PGlite only: wait for another process's lock to be released or to go stale (`serve`, which a container
   * restarts right after a SIGKILL left the lock behind), instead of failing at once (CLI commands, which
   * hand their work to the running server instead).
   */
  readonly waitForLock?: boolean;
}

/** How long request work and sync work may wait on PostgreSQL (structurally `config.database`). */
export interface DatabaseTimeoutOptions {
  /** `statement_timeout` of request work (SCIM, admin, login). */
  readonly statementTimeoutMs: number;
  /** `statement_timeout` of the sync worker and the job queue, on a pool of their own. */
  readonly syncStatementTimeoutMs: number;
  /** Waiting for a pooled connection or opening a new one (`connectionTimeoutMillis`). */
  readonly connectTimeoutMs: number;
}

/** Thrown when another process holds the embedded database. */
export class DatabaseLockedError extends Error {
  override name = 'DatabaseLockedError';
  /** The PGlite data directory another process holds. */
  constructor(message: string, readonly dataDir: string) {
    super(message);
  }
}

export async function openDatabase(options: OpenOptions): Promise<DatabaseHandle> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options) : openPglite(options.dataDir ?? './data', options.pgliteTemplate, options.waitForLock);
}

/** Most distinct statements one process prepares; beyond it statements run unnamed (filters vary freely). */
const MAX_PREPARED = 500;
const statementNames = new Map<string, string>();
const DML = /^\s*(select|insert|update|delete|with)\b/i;

/**
 * Makes a `pg` client run every parameterised statement as a named prepared statement, so PostgreSQL
 * parses and plans each distinct SQL text once per connection instead of on every request. Kysely
 * always sends `(text, values)`, which becomes `{ name, text, values }`. On a 2-core machine parse and
 * plan were most of the database's CPU per SCIM GET.
 */
function preparingQueries(client: pg.PoolClient, dropOnReadTimeout: boolean): void {
  const target = client as unknown as { query: (...args: unknown[]) => unknown };
  const bound = target.query.bind(client);
  const original = dropOnReadTimeout ? droppingOnReadTimeout(client, bound) : bound;
  target.query = (...args: unknown[]) => {
    const [text, values] = args;
    // Only the application's DML: DDL and session statements (migrations, `set`) stay unnamed.
    if (typeof text === 'string' && Array.isArray(values) && args.length === 2 && DML.test(text)) {
      let name = statementNames.get(text);
      if (name === undefined && statementNames.size < MAX_PREPARED) {
        name = `provisio_${statementNames.size}`;
        statementNames.set(text, name);
      }
      if (name !== undefined) return original({ name, text, values });
    }
    return original(...args);
  };
}

/**
 * How much longer than `statement_timeout` we wait for an answer before giving the connection up. A slow
 * but alive server cancels the statement itself (57014) and the connection stays usable; a server that
 * says nothing at all (host gone, network cut, a blackholing proxy) never will, and TCP keepalive does
 * not notice a peer whose kernel still answers. Then pg's `query_timeout` fails the query and we close
 * the socket, so the pool does not hand the stuck connection to the next request.
 */
const READ_TIMEOUT_MARGIN_MS = 1000;

/** pg's `query_timeout` fails the query but leaves it on the wire: close the socket (the pool drops the client). */
function droppingOnReadTimeout(client: pg.PoolClient, query: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
  const drop = (err: unknown) => {
    if (err instanceof Error && err.message === 'Query read timeout') (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  };
  return (...args: unknown[]) => {
    const last = args[args.length - 1];
    // pg-pool's `pool.query` (pg-boss) passes a callback.
    if (typeof last === 'function') {
      args[args.length - 1] = (err: unknown, result: unknown) => {
        drop(err);
        (last as (err: unknown, result: unknown) => void)(err, result);
      };
      return query(...args);
    }
    // Streams and cursors (`submit`) return themselves; nothing here uses them.
    if (typeof (args[0] as { submit?: unknown } | undefined)?.submit === 'function') return query(...args);
    // Kysely wants a promise: made here from pg's callback form (one promise, as pg's own form makes).
    return new Promise((resolve, reject) => {
      query(...args, (err: unknown, result: unknown) => {
        if (err) {
          drop(err);
          reject(err);
        } else resolve(result);
      });
    });
  };
}

/**
 * A pool of PostgreSQL connections, each bounded when `statementTimeoutMs` is given. The statements of
 * list and search requests whose client went away are cancelled by `StatementCanceller` (src/db/cancel.ts).
 */
function postgresPool(connectionString: string, options: OpenOptions, max: number, statementTimeoutMs?: number): pg.Pool {
  const timeouts = options.timeouts;
  const pool = new pg.Pool({
    connectionString,
    max,
    ...(options.searchPath ? { options: `-c search_path=${options.searchPath}` } : {}),
    // Keepalive probes on idle connections: NAT and load balancers keep them open, and the kernel
    // eventually notices a peer that vanished without closing (host down), so the pool drops it.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(timeouts ? { connectionTimeoutMillis: timeouts.connectTimeoutMs } : {}),
    // Sent in the startup message: no `set` round trip per request (GET /Users/{id} is benchmarked).
    ...(statementTimeoutMs ? { statement_timeout: statementTimeoutMs, query_timeout: statementTimeoutMs + READ_TIMEOUT_MARGIN_MS } : {}),
  });
  // pg-pool listens for errors on idle clients only; a checked-out client whose socket dies emits
  // 'error' too, and with no listener that crashes the process. Its queries fail, and once released
  // the pool drops it (it is no longer queryable) and opens a new one when needed.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    preparingQueries(client, statementTimeoutMs !== undefined);
  });
  return pool;
}

/**
 * The sync worker and pg-boss get a pool of their own when timeouts are set: their statements may run
 * longer than a request's (`syncStatementTimeoutMs`), a per-statement `set local statement_timeout` would
 * need a transaction around each of pg-boss's statements, and with two pools a 50,000-user import cannot
 * take the connections SCIM requests need (nor the reverse). It is a quarter of the request pool.
 */
function syncPoolSize(poolMax: number): number {
  return Math.max(2, Math.ceil(poolMax / 4));
}

function openPostgres(connectionString: string, options: OpenOptions): DatabaseHandle {
  const poolMax = options.poolMax ?? 20;
  const timeouts = options.timeouts;
  const pool = postgresPool(connectionString, options, poolMax, timeouts?.statementTimeoutMs);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const syncPool = timeouts ? postgresPool(connectionString, options, syncPoolSize(poolMax), timeouts.syncStatementTimeoutMs) : pool;
  const syncDb = syncPool === pool ? db : new Kysely<Database>({ dialect: new PostgresDialect({ pool: syncPool }) });
  return {
    db,
    kind: 'postgres',
    pool,
    canceller: new StatementCanceller(pool),
    sync: { db: syncDb, pool: syncPool },
    async unbounded(work) {
      if (!timeouts) return work(db);
      const once = new Kysely<Database>({ dialect: new PostgresDialect({ pool: postgresPool(connectionString, options, 1) }) });
      try {
        return await work(once);
      } finally {
        await once.destroy();
      }
    },
    close: async () => {
      await db.destroy();
      if (syncDb !== db) await syncDb.destroy();
    },
  };
}

/**
 * Kysely over an already-open PGlite owned by the caller (tests share one per process and isolate
 * each test in its own schema; PGlite has one session, so such users must take turns).
 */
export async function wrapPglite(pglite: import('@electric-sql/pglite').PGlite, searchPath?: string): Promise<DatabaseHandle> {
  const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
  const pool = new pg.Pool({ ...createPgConfig(pglite), max: 1, connectionTimeoutMillis: 30_000, allowExitOnIdle: true } as pg.PoolConfig);
  pool.on('error', () => undefined);
  if (searchPath) pool.on('connect', (client) => void client.query(`set search_path to ${searchPath}`));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'pglite', pool, sync: { db, pool }, unbounded: (work) => work(db), close: () => db.destroy() };
}

/**
 * PGlite has no lock of its own: two processes on one data dir silently lose writes (STACK.md). We take
 * a lock inside the directory (`provisio.lock`; PostgreSQL ignores entries it does not know) and refuse to
 * open when another process holds it. Inside, not beside: the data directory is the one place we know is
 * ours to write — in the container it is the `/data` volume, and `/` is not writable by the `node` user.
 * Versions before 0.2 locked `<dir>.lock` beside it; a process of such a version still running is
 * detected too, so an upgrade cannot run two servers on one directory.
 */
/** The lock's name inside the PGlite data directory. */
export const PGLITE_LOCK = 'provisio.lock';
/** A lock not refreshed for this long belongs to a process that died. */
const LOCK_STALE_MS = 30_000;

async function openPglite(dataDir: string, template?: Blob, waitForLock = false): Promise<DatabaseHandle> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
  const inMemory = dataDir.startsWith('memory://');
  let release: (() => Promise<void>) | undefined;
  if (!inMemory) {
    const dir = path.resolve(dataDir);
    fs.mkdirSync(dir, { recursive: true });
    try {
      if (await lockfile.check(dir, { stale: LOCK_STALE_MS, realpath: false })) throw Object.assign(new Error('locked'), { code: 'ELOCKED' });
      release = await lockfile.lock(dir, {
        stale: LOCK_STALE_MS,
        update: LOCK_STALE_MS / 3,
        realpath: false,
        lockfilePath: path.join(dir, PGLITE_LOCK),
        // Each attempt takes over a lock whose holder stopped refreshing it LOCK_STALE_MS ago.
        ...(waitForLock ? { retries: { retries: Math.ceil(LOCK_STALE_MS / 1000) + 5, factor: 1, minTimeout: 1000, maxTimeout: 1000 } } : {}),
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
        throw new DatabaseLockedError(
          `the embedded database in ${dir} is in use by another process (a running \`provisio serve\`?). ` +
            'PGlite admits one process at a time: stop that process first, or set DATABASE_URL to use PostgreSQL.',
          dir,
        );
      }
      throw err;
    }
  }
  try {
    const pglite = await PGlite.create({ ...(inMemory ? {} : { dataDir: path.resolve(dataDir) }), ...(template ? { loadDataDir: template } : {}) });
    // One connection: PGlite serialises everything; a query outside a transaction that is waiting for the
    // connection a transaction holds would otherwise hang forever, so time it out instead.
    const pool = new pg.Pool({ ...createPgConfig(pglite), max: 1, connectionTimeoutMillis: 30_000 } as pg.PoolConfig);
    pool.on('error', () => undefined);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      kind: 'pglite',
      pool,
      // PGlite has one connection and runs in this process: no statement timeout, one pool for all.
      sync: { db, pool },
      unbounded: (work) => work(db),
      dump: () => pglite.dumpDataDir('none'),
      close: async () => {
        await db.destroy();
        await pglite.close();
        await release?.();
      },
    };
  } catch (err) {
    await release?.();
    throw err;
  }
}
