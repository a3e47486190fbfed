import { DEFAULT_MIGRATION_TABLE, Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import * as m0001 from './migrations/0001-initial.js';
import * as m0002 from './migrations/0002-sync.js';
import * as m0003 from './migrations/0003-resource-counts.js';
import * as m0004 from './migrations/0004-admin.js';
import * as m0005 from './migrations/0005-scrub-ticket-urls.js';
import * as m0006 from './migrations/0006-member-foreign-keys.js';
import * as m0007 from './migrations/0007-server-keys.js';
import * as m0008 from './migrations/0008-leases.js';
import * as m0009 from './migrations/0009-scim-requests.js';
import * as m0010 from './migrations/0010-setup-links.js';
import * as m0011 from './migrations/0011-user-history.js';
import * as m0012 from './migrations/0012-events.js';
import * as m0013 from './migrations/0013-okta-mirror.js';
import * as m0014 from './migrations/0014-count-slots-by-session.js';

/**
 * Migrations are imported statically (not read from a folder) so the same list works from `src/`
 * under tsx and from `dist/` in the container. Append new ones; never reorder or edit.
 */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': m0001,
  '0002-sync': m0002,
  '0003-resource-counts': m0003,
  '0004-admin': m0004,
  '0005-scrub-ticket-urls': m0005,
  '0006-member-foreign-keys': m0006,
  '0007-server-keys': m0007,
  '0008-leases': m0008,
  '0009-scim-requests': m0009,
  '0010-setup-links': m0010,
  '0011-user-history': m0011,
  '0012-events': m0012,
  '0013-okta-mirror': m0013,
  '0014-count-slots-by-session': m0014,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/** `schema` keeps the migration bookkeeping beside the tables when working in a non-default schema. */
export function migrator(db: Kysely<any>, schema?: string): Migrator {
  return new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? ((err as { code?: string }).code ?? undefined) : undefined;
}

/**
 * The schema tables are created in (first of `search_path`). Kysely's bookkeeping tables must live there
 * too, or a database with the bookkeeping in `public` and the app in another schema confuses it.
 */
async function currentSchema(db: Kysely<any>): Promise<string> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  return rows[0]?.schema ?? 'public';
}

/** Applies every pending migration; throws with the failing migration's name on error. */
export async function migrateToLatest(db: Kysely<any>, schema?: string): Promise<MigrationResultSet> {
  const target = schema ?? (await currentSchema(db));
  // Kysely's migrator introspects every table of the database; another schema being dropped at that
  // moment (another app, a test run) fails it with 3F000 (schema gone), 42P01 (its table gone) or 42703 (a
  // column gone while its table is read) although nothing is wrong with ours: retry when no migration of
  // ours has failed.
  const introspectionRace = (r: MigrationResultSet) =>
    r.error !== undefined && ['3F000', '42P01', '42703'].includes(errorCode(r.error) ?? '') && !r.results?.some((m) => m.status === 'Error');
  let result = await migrator(db, target).migrateToLatest();
  for (let attempt = 1; introspectionRace(result) && attempt < 5; attempt++) {
    result = await migrator(db, target).migrateToLatest();
  }
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    const cause = result.error instanceof Error ? result.error.message : String(result.error);
    throw new Error(`migration ${failed} failed: ${cause}`, { cause: result.error });
  }
  return result;
}

/**
 * True when every known migration has been applied (the readiness check). One read of the bookkeeping
 * table in the current schema, not Kysely's `getMigrations()`: that introspects every table of every
 * schema first, so a table dropped anywhere in the database meanwhile (another app, a parallel test run)
 * fails it with 3F000/42P01/42703 and `/readyz` would flap to 503 although nothing is wrong with ours.
 * A missing bookkeeping table means nothing is applied yet.
 */
export async function migrationsApplied(db: Kysely<any>, schema?: string): Promise<boolean> {
  const table = sql.table(`${schema ?? (await currentSchema(db))}.${DEFAULT_MIGRATION_TABLE}`);
  try {
    const { rows } = await sql<{ name: string }>`select name from ${table}`.execute(db);
    const applied = new Set(rows.map((r) => r.name));
    return Object.keys(MIGRATIONS).every((name) => applied.has(name));
  } catch (err) {
    if (errorCode(err) === '42P01') return false;
    throw err;
  }
}
