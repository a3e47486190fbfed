import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import tap from 'tap';
import { openDatabase, wrapPglite, type DatabaseHandle } from '../../src/db/client.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { REPO_ROOT } from './paths.js';

/** Which backend this test run uses: `TEST_DB=postgres` (default) or `TEST_DB=pglite`. CI runs both. */
export const TEST_BACKEND: 'postgres' | 'pglite' = process.env.TEST_DB === 'pglite' ? 'pglite' : 'postgres';
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let shared: Promise<PGlite> | undefined;

// The package does not export its package.json: read it from where npm put it.
const PGLITE_VERSION = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string }).version;

/**
 * A fresh PGlite from a cached empty cluster: initdb costs 2.5-3.5 s, loading its dump about 1 s, and the
 * PGlite pass starts one per test file. The dump is made once per PGlite version and machine, written
 * under a temporary name and renamed, so files starting together never read half a dump.
 */
async function freshPglite(): Promise<PGlite> {
  // Imported here: the PostgreSQL pass has no use for it, and it costs a third of a second per test file.
  const { PGlite } = await import('@electric-sql/pglite');
  const cached = path.join(tmpdir(), `provisio-test-pglite-${PGLITE_VERSION}.tar`);
  const dump = await readFile(cached).catch(() => undefined);
  if (dump) return PGlite.create({ loadDataDir: new Blob([dump]) });
  const pglite = await PGlite.create();
  const made = Buffer.from(await (await pglite.dumpDataDir('none')).arrayBuffer());
  const partial = `${cached}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(partial, made);
  await rename(partial, cached);
  return pglite;
}

/**
 * One in-memory PGlite per test process, each test in its own schema. PGlite has a single session, so
 * tests in one file must not run concurrently (tap's default).
 */
function sharedPglite(): Promise<PGlite> {
  if (!shared) {
    shared = freshPglite();
    // PGlite arms a 10 s timer inside its WASM; close it when the file's tests are done, or the process lingers.
    const instance = shared;
    tap.teardown(async () => (await instance).close());
  }
  return shared;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/**
 * A migrated database owned by one test: a fresh schema in the test PostgreSQL, or a fresh in-memory
 * PGlite. Dropped at teardown, so tests run in parallel and never share rows.
 */
export async function testDatabase(t: Teardown): Promise<DatabaseHandle> {
  if (TEST_BACKEND === 'pglite') {
    const pglite = await sharedPglite();
    const schema = `t_${randomBytes(6).toString('hex')}`;
    await pglite.exec(`create schema ${schema}; set search_path to ${schema}`);
    // The `set search_path` above is the session's (PGlite has one), so the pool needs no hook of its own.
    const database = await wrapPglite(pglite);
    await migrateToLatest(database.db, schema);
    t.teardown(async () => {
      await database.close();
      await pglite.exec(`drop schema ${schema} cascade`);
    });
    return database;
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  // Bounded like `serve` (generous for a loaded CI machine), so tests run the production connection path.
  const timeouts = { statementTimeoutMs: 30_000, syncStatementTimeoutMs: 60_000, connectTimeoutMs: 30_000 };
  const database = await openDatabase({ databaseUrl: TEST_DATABASE_URL, searchPath: schema, poolMax: 5, timeouts });
  await migrateToLatest(database.db, schema);
  t.teardown(async () => {
    await database.close();
    const drop = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await drop.connect();
    await drop.query(`drop schema ${schema} cascade`);
    await drop.end();
  });
  return database;
}
