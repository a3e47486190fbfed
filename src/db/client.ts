import fs from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import lockfile from 'proper-lockfile';
import type { Database } from './schema.js';

/** An open database: Kysely on top of a `pg` pool, whether the server behind it is PostgreSQL or PGlite. */
export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'pglite';
  /** The pool Kysely uses; the job queue shares it so both see one transaction. */
  readonly pool: pg.Pool;
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
}

/** Thrown when another process holds the embedded database. */
export class DatabaseLockedError extends Error {
  override name = 'DatabaseLockedError';
}

export async function openDatabase(options: OpenOptions): Promise<DatabaseHandle> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options) : openPglite(options.dataDir ?? './data', options.pgliteTemplate);
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
function preparingQueries(client: pg.PoolClient): void {
  const target = client as unknown as { query: (...args: unknown[]) => unknown };
  const original = target.query.bind(client);
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

function openPostgres(connectionString: string, options: OpenOptions): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString,
    max: options.poolMax ?? 20,
    ...(options.searchPath ? { options: `-c search_path=${options.searchPath}` } : {}),
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  pool.on('connect', preparingQueries);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'postgres', pool, close: () => db.destroy() };
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
  return { db, kind: 'pglite', pool, close: () => db.destroy() };
}

/**
 * PGlite has no lock of its own: two processes on one data dir silently lose writes (STACK.md). We take
 * a lockfile beside the directory and refuse to open when another process holds it.
 */
async function openPglite(dataDir: string, template?: Blob): Promise<DatabaseHandle> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
  const inMemory = dataDir.startsWith('memory://');
  let release: (() => Promise<void>) | undefined;
  if (!inMemory) {
    const dir = path.resolve(dataDir);
    fs.mkdirSync(dir, { recursive: true });
    try {
      release = await lockfile.lock(dir, { stale: 30_000, update: 10_000, realpath: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
        throw new DatabaseLockedError(
          `the embedded database in ${dir} is in use by another process (a running \`provisio serve\`?). ` +
            'PGlite admits one process at a time: stop that process first, or set DATABASE_URL to use PostgreSQL.',
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
