import { createHash, randomBytes } from 'node:crypto';
import { existsSync, openAsBlob, readdirSync, readFileSync } from 'node:fs';
import { link, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import tap from 'tap';
import { openDatabase, wrapPglite, type DatabaseHandle } from '../../src/db/client.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { SyncQueue } from '../../src/sync/queue.js';
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
 * under a temporary name and linked in, so files starting together never read half a dump.
 */
async function freshPglite(): Promise<PGlite> {
  // Imported here: the PostgreSQL pass has no use for it, and it costs a third of a second per test file.
  const { PGlite } = await import('@electric-sql/pglite');
  const cached = path.join(tmpdir(), `provisio-test-pglite-${PGLITE_VERSION}-postgres-only.tar`);
  // A Blob backed by the file, not by a Buffer read first: copying the 40 MB dump into a Blob and reading it
  // back cost about 0.3 s of the 2 s of CPU each PGlite start took here.
  if (existsSync(cached)) return PGlite.create({ loadDataDir: await openAsBlob(cached) });
  const pglite = await PGlite.create();
  // PGlite works in `postgres`; the two template databases were 15 of the dump's 40 MB, which every start
  // unpacks (with them: 2.1 s of CPU per start under load here, without: 1.7 s). No test creates a database in
  // PGlite.
  for (const statement of [
    'alter database template1 is_template false',
    'drop database template1', // one statement at a time: DROP DATABASE refuses an implicit transaction block
    "update pg_database set datistemplate = false, datallowconn = true where datname = 'template0'",
    'drop database template0',
    'checkpoint',
  ]) await pglite.exec(statement);
  const made = Buffer.from(await (await pglite.dumpDataDir('none')).arrayBuffer());
  const partial = `${cached}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(partial, made);
  // Linked in only where no other file's dump got there first: a dump, once in place, never changes under a
  // file-backed Blob that another test process is reading.
  await link(partial, cached).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  await unlink(partial);
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
 * A migrated database owned by one test: a database of its own on the test PostgreSQL (a copy of a migrated
 * template), or a fresh schema in the file's in-memory PGlite. Dropped at teardown, so tests run in parallel
 * and never share rows.
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
  const name = `provisio_t_${randomBytes(6).toString('hex')}`;
  const template = await migratedTemplate();
  await adminQuery((admin) => createFromTemplate(admin, name, template));
  const url = databaseUrl(name);
  // Bounded like `serve` (generous for a loaded CI machine), so tests run the production connection path.
  const timeouts = { statementTimeoutMs: 30_000, syncStatementTimeoutMs: 60_000, connectTimeoutMs: 30_000 };
  const database = await openDatabase({ databaseUrl: url, poolMax: 5, timeouts });
  urls.set(database, url);
  t.teardown(async () => {
    await database.close();
    // FORCE: a connection a test left open (a queue's, a child's) must not keep its database alive.
    await adminQuery((admin) => admin.query(`drop database if exists ${name} with (force)`));
  });
  return database;
}

const urls = new WeakMap<DatabaseHandle, string>();

/** PostgreSQL: the URL of a test's own database, for a second client on it (the CLI, a churning session). */
export function testDatabaseUrl(database: DatabaseHandle): string {
  const url = urls.get(database);
  if (!url) throw new Error('not a PostgreSQL database made by testDatabase()');
  return url;
}

/** `TEST_DATABASE_URL` pointed at another database of the same server. */
function databaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function adminQuery<T>(work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

/**
 * Each PostgreSQL test gets a database of its own, copied from one migrated once (CREATE DATABASE … TEMPLATE).
 * Migrating a fresh schema took 200-290 ms (96 statements, two of them Kysely's introspection of every table
 * in the database, which other test files were filling and emptying), and the PostgreSQL pass made 264 of
 * them; a copy of the template costs the server 40-55 ms of CPU. The pass took 4 % and 8 % less time in two
 * interleaved pairs of runs. A test's own database also keeps other files' schemas out of its catalog.
 *
 * The template is named after the migrations' sources (and pg-boss's version and our queue's source, for the
 * job queue schema it also holds), so a changed migration gets a new one; test files
 * starting together build it once (an advisory lock), and it is marked a template only once migrated, so a
 * build that died half-way is redone.
 */
let templateBuilt: Promise<string> | undefined;

function migratedTemplate(): Promise<string> {
  templateBuilt ??= adminQuery(buildTemplate);
  return templateBuilt;
}

function migrationsHash(): string {
  const hash = createHash('sha256');
  const dir = path.join(REPO_ROOT, 'src/db/migrations');
  for (const file of readdirSync(dir).sort()) hash.update(file).update(readFileSync(path.join(dir, file)));
  hash.update(readFileSync(path.join(REPO_ROOT, 'src/db/migrate.ts')));
  // The template also holds a pg-boss schema (jobQueueSchema), made by this version of pg-boss and our queue.
  hash.update(readFileSync(path.join(REPO_ROOT, 'node_modules/pg-boss/package.json')));
  hash.update(readFileSync(path.join(REPO_ROOT, 'src/sync/queue.ts')));
  return hash.digest('hex').slice(0, 16);
}

async function buildTemplate(admin: pg.Client): Promise<string> {
  const name = `provisio_template_${migrationsHash()}`;
  await admin.query('select pg_advisory_lock(hashtext($1))', [name]);
  try {
    const { rows } = await admin.query<{ ready: boolean }>('select datistemplate as ready from pg_database where datname = $1', [name]);
    if (rows[0]?.ready) return name;
    if (rows.length > 0) await admin.query(`drop database ${name} with (force)`);
    await admin.query(`create database ${name}`);
    const database = await openDatabase({ databaseUrl: databaseUrl(name), poolMax: 2 });
    try {
      await migrateToLatest(database.db);
      // The settings of testJobQueue's default; a test asking for others has them applied at its start.
      const queue = await SyncQueue.start(database.pool, { schema: TEMPLATE_QUEUE_SCHEMA, ...TEST_QUEUE_SETTINGS });
      await queue.stop();
    } finally {
      await database.close();
    }
    await admin.query(`alter database ${name} is_template true`);
    return name;
  } finally {
    await admin.query('select pg_advisory_unlock(hashtext($1))', [name]);
  }
}

/** The pg-boss schema installed in the PostgreSQL template (see `jobQueueSchema`). */
const TEMPLATE_QUEUE_SCHEMA = 'boss_test';

/** The sync queue settings of the tests' queues, and of the one installed in the template. */
const TEST_QUEUE_SETTINGS = { retryLimit: 3, expireInSeconds: 30 } as const;

/**
 * The schema for a test's pg-boss queue. On PostgreSQL it is `boss_test`, installed once in the migrated template
 * with the sync queue, so each test's copy has it ready: installing pg-boss took about 100 ms of the server's CPU,
 * and a run installed it some 140 times. In PGlite a file's tests share one database, so each test gets a schema
 * of its own, which `dropJobQueueSchema` drops (on PostgreSQL the test's database goes, and the schema with it).
 */
export function jobQueueSchema(): string {
  return TEST_BACKEND === 'postgres' ? TEMPLATE_QUEUE_SCHEMA : `boss_${randomBytes(5).toString('hex')}`;
}

/** Drops a test's pg-boss schema once its queue is stopped, where it would outlive the test (PGlite). */
export async function dropJobQueueSchema(database: DatabaseHandle, schema: string): Promise<void> {
  if (TEST_BACKEND === 'postgres') return;
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(database.db).catch(() => undefined);
}

/**
 * The sync's job queue for a test, in `jobQueueSchema()`, stopped (and its schema dropped where it would
 * outlive the test) at teardown.
 */
export async function testJobQueue(
  t: Teardown,
  database: DatabaseHandle,
  settings: { retryLimit: number; expireInSeconds: number } = TEST_QUEUE_SETTINGS,
): Promise<{ queue: SyncQueue; schema: string }> {
  const schema = jobQueueSchema();
  const queue = await SyncQueue.start(database.pool, { schema, ...settings });
  t.teardown(async () => {
    await queue.stop();
    await dropJobQueueSchema(database, schema);
  });
  return { queue, schema };
}

/** Copies the template; retried while the template's last session (its migration's) is still closing. */
async function createFromTemplate(admin: pg.Client, name: string, from: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.query(`create database ${name} template ${from}`);
      return;
    } catch (err) {
      const inUse = (err as { code?: string }).code === '55006';
      if (!inUse || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
