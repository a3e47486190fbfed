/**
 * Set-up shared by the hand-run benchmarks that start a real `provisio serve`: a scratch database of their own
 * on the PostgreSQL server DATABASE_URL names, and a set of tenants bound to Auth0 with nothing to do.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createTenant } from '../src/admin/tenants.js';
import { openDatabase } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { bindTenant } from '../src/sync/binding.js';
import { SyncQueue } from '../src/sync/queue.js';

export interface ScratchDatabase {
  readonly name: string;
  /** The scratch database's connection string. */
  readonly url: string;
  /** A connection to the server's maintenance database (for `pg_stat_database`). */
  readonly admin: pg.Client;
  /** Drops it, whatever is still connected. */
  drop(): Promise<void>;
}

/** Creates `<prefix>_<random>` and migrates it. */
export async function scratchDatabase(prefix: string): Promise<ScratchDatabase> {
  const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `${prefix}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const drop = async () => {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  };
  try {
    const database = await openDatabase({ databaseUrl: url.toString(), poolMax: 4 });
    await migrateToLatest(database.db);
    await database.close();
  } catch (err) {
    await drop();
    throw err;
  }
  return { name, url: url.toString(), admin, drop };
}

/** Creates tenants `idle-0` … `idle-<count - 1>`, each bound to Auth0, and answers their SCIM tokens. */
export async function bindIdleTenants(databaseUrl: string, count: number): Promise<string[]> {
  const database = await openDatabase({ databaseUrl, poolMax: 4 });
  const queue = await SyncQueue.start(database.pool, { schema: 'pgboss', retryLimit: 8, expireInSeconds: 300 });
  try {
    const tokens: string[] = [];
    for (let i = 0; i < count; i++) {
      const { tenant, token } = await createTenant(database.db, { name: `idle-${i}` });
      tokens.push(token);
      await bindTenant(database.db, queue, tenant.id, {
        binding: { organization: { name: `idle-${i}` }, connections: [{ id: 'con_idle00000000000', name: 'Username-Password-Authentication', mode: 'database' }] },
      });
    }
    return tokens;
  } finally {
    await queue.stop();
    await database.close();
  }
}

/** Creates one more tenant, not bound (writes one statement each, as in ../shared/bench/run-provisio-ab.sh). */
export async function createUnboundTenant(databaseUrl: string, name: string): Promise<string> {
  const database = await openDatabase({ databaseUrl, poolMax: 1 });
  try {
    return (await createTenant(database.db, { name })).token;
  } finally {
    await database.close();
  }
}
