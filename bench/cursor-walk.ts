/**
 * Cursor vs index paging (issue 14): walks every user of a tenant page by page, once with RFC 9865
 * cursors and once with startIndex, through the real app (inject, no network), and reports the time per
 * page at the start and at the end of each walk. Not a test; run by hand:
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/cursor-walk.ts --users 100000 --count 1000
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { pino } from 'pino';
import { createTenant } from '../src/admin/tenants.js';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';

const { values: a } = parseArgs({ options: { users: { type: 'string', default: '100000' }, count: { type: 'string', default: '1000' }, sortBy: { type: 'string' } } });
const users = Number(a.users);
const count = Number(a.count);
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `bench_${randomBytes(4).toString('hex')}`;

const admin = await openDatabase({ databaseUrl: url, poolMax: 1 });
await sql`create schema ${sql.id(schema)}`.execute(admin.db);
const database = await openDatabase({ databaseUrl: url, searchPath: schema, poolMax: 4 });
try {
  await migrateToLatest(database.db, schema);
  const { tenant, token } = await createTenant(database.db, { name: 'bench' });
  await sql`insert into users (tenant_id, id, user_name, active, data)
    select ${tenant.id}, gen_random_uuid(), 'user' || lpad(n::text, 7, '0') || '@bench.example', true,
      jsonb_build_object('userName', 'user' || lpad(n::text, 7, '0') || '@bench.example', 'active', true)
    from generate_series(1, ${users}) n`.execute(database.db);
  await sql`analyze users`.execute(database.db);
  const config = loadConfig({ LOG_LEVEL: 'silent', SCIM_RATE_LIMIT: 'off', SCIM_MAX_PAGE_SIZE: String(Math.max(count, 1000)) });
  const app = await buildApp({ config, database, logger: pino({ level: 'silent' }) });
  const sort = a.sortBy ? `&sortBy=${encodeURIComponent(a.sortBy)}` : '';

  const get = async (query: string): Promise<{ ms: number; body: { Resources: unknown[]; nextCursor?: string; totalResults: number } }> => {
    const started = performance.now();
    const res = await app.inject({ method: 'GET', url: `/scim/v2/bench/Users?count=${count}${sort}&${query}`, headers: { authorization: `Bearer ${token}` } });
    const ms = performance.now() - started;
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`);
    return { ms, body: res.json() };
  };

  const summary = (label: string, times: number[], seen: number) => {
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const firsts = times.slice(0, 5);
    const lasts = times.slice(-5);
    console.log(`${label.padEnd(8)} pages ${String(times.length).padStart(4)}  users ${seen}  first 5 pages median ${median(firsts).toFixed(1)} ms  last 5 pages median ${median(lasts).toFixed(1)} ms  (last/first ${(median(lasts) / median(firsts)).toFixed(2)})  whole walk ${(times.reduce((s, x) => s + x, 0) / 1000).toFixed(1)} s`);
  };

  // Warm up both paths (plans, caches) on a few pages before measuring.
  await get('cursor=');
  await get('startIndex=1');

  for (const method of ['cursor', 'index', 'cursor', 'index']) {
    const times: number[] = [];
    let seen = 0;
    if (method === 'cursor') {
      let page = await get('cursor=');
      for (;;) {
        times.push(page.ms);
        seen += page.body.Resources.length;
        if (!page.body.nextCursor) break;
        page = await get(`cursor=${encodeURIComponent(page.body.nextCursor)}`);
      }
    } else {
      for (let start = 1; start <= users; start += count) {
        const page = await get(`startIndex=${start}`);
        times.push(page.ms);
        seen += page.body.Resources.length;
      }
    }
    summary(method, times, seen);
  }
  await app.close();
} finally {
  await database.close();
  await sql`drop schema ${sql.id(schema)} cascade`.execute(admin.db);
  await admin.close();
}
