import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Filter } from 'scim2-parse-filter';
import type { Database } from '../../db/schema.js';
import type { ScimResourceType } from '../schemas/types.js';
import { compileFilter, compileSortKey } from './filter.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface ListPage<Row> {
  readonly total: number;
  readonly rows: Row[];
}

export interface PageOptions {
  readonly filter?: Filter;
  readonly sortBy?: string;
  readonly sortOrder: 'ascending' | 'descending';
  /** 1-based. */
  readonly startIndex: number;
  readonly count: number;
}

/** The exact number of matching rows, as a subquery `t(total)`: unfiltered, the trigger-maintained count (migration 0003); filtered, the matches counted. */
function totalOf(table: 'users' | 'groups', tenantId: string, where: RawBuilder<boolean> | undefined): RawBuilder<unknown> {
  return where
    ? sql`(select count(*) as total from ${sql.table(table)} r where r.tenant_id = ${tenantId} and ${where}) t`
    : sql`(select coalesce(sum(n), 0) as total from resource_counts c where c.tenant_id = ${tenantId} and c.resource = ${table}) t`;
}

/**
 * One page of a resource table plus the exact number of matching rows, in one statement (RFC 7644
 * §3.4.2.4). The page is chosen on ids first (an index-only scan for the default order), then only
 * those rows are read, so deep offsets do not fetch the rows they skip. `extra` adds computed
 * columns over the page's rows, aliased `u` (e.g. a user's groups).
 */
export async function listPage<Row>(
  db: Db,
  table: 'users' | 'groups',
  rt: ScimResourceType,
  tenantId: string,
  options: PageOptions,
  extra?: RawBuilder<unknown>,
): Promise<ListPage<Row>> {
  const where = options.filter ? compileFilter(rt, options.filter) : sql<boolean>`true`;
  const from = sql.table(table);
  const total = totalOf(table, tenantId, options.filter ? where : undefined);
  if (options.count === 0) {
    const result = await sql<{ total: string }>`select t.total from ${total}`.execute(db);
    return { total: Number(result.rows[0]?.total ?? 0), rows: [] };
  }
  const direction = sql.raw(options.sortOrder === 'descending' ? 'desc' : 'asc');
  const key = options.sortBy ? compileSortKey(rt, options.sortBy) : sql`null::text`;
  const result = await sql<Row & { total: string; page_id: string | null }>`
    select t.total, p.id as page_id, u.* ${extra ? sql`, ${extra}` : sql``}
    from ${total}
    left join lateral (
      select r.id, ${key} as sort_key from ${from} r
      where r.tenant_id = ${tenantId} and ${where}
      order by sort_key ${direction}, r.id ${direction}
      limit ${options.count} offset ${options.startIndex - 1}
    ) p on true
    left join ${from} u on u.tenant_id = ${tenantId} and u.id = p.id
    order by p.sort_key ${direction}, p.id ${direction}`.execute(db);
  const count = Number(result.rows[0]?.total ?? 0);
  const rows = result.rows.filter((r) => r.page_id !== null).map(({ total: _t, page_id: _p, ...row }) => row as unknown as Row);
  return { total: count, rows };
}

/** Where a keyset page starts: the sort key and id of the row just outside it. */
export interface KeysetPosition {
  readonly key: unknown;
  readonly id: string;
}

export interface KeysetOptions {
  readonly filter?: Filter;
  readonly sortBy?: string;
  readonly sortOrder: 'ascending' | 'descending';
  readonly count: number;
  /** The rows after this position in the walk's order (the next page); neither: the first page. */
  readonly after?: KeysetPosition;
  /** The rows before this position, still returned in the walk's order (the previous page). */
  readonly before?: KeysetPosition;
}

export interface KeysetPage<Row> {
  readonly total: number;
  /** The page's rows in the walk's order, each with its own position (for the cursors around it). */
  readonly rows: (Row & { readonly position: KeysetPosition })[];
  /** Whether rows exist beyond the page in the direction it was read (after it, or before it). */
  readonly more: boolean;
}

/**
 * A page by keyset (RFC 9865 cursors): the rows strictly after (or before) a position in the order
 * `sort key, id` — NULL sort keys last in either direction — so a walk neither repeats nor skips a row
 * that existed for the whole walk, whatever is created or deleted meanwhile, and the last page costs
 * what the first does (no OFFSET). Reads one row more than asked to know whether another page follows.
 */
export async function keysetPage<Row>(
  db: Db,
  table: 'users' | 'groups',
  rt: ScimResourceType,
  tenantId: string,
  options: KeysetOptions,
  extra?: RawBuilder<unknown>,
): Promise<KeysetPage<Row>> {
  const where = options.filter ? compileFilter(rt, options.filter) : sql<boolean>`true`;
  const from = sql.table(table);
  const total = totalOf(table, tenantId, options.filter ? where : undefined);
  const key = options.sortBy ? compileSortKey(rt, options.sortBy) : sql`null::text`;
  const ascending = options.sortOrder === 'ascending';
  const backward = options.before !== undefined;
  const position = options.before ?? options.after;
  // Read backward for a previous page: the order flips, and so does every comparison.
  const forward = ascending !== backward;
  const op = sql.raw(forward ? '>' : '<');
  const order = sql.raw(forward ? 'asc' : 'desc');
  let seek = sql<boolean>`true`;
  if (position) {
    if (!backward) {
      seek = position.key === null
        ? sql<boolean>`(${key} is null and r.id ${op} ${position.id})`
        : sql<boolean>`(${key} is null or ${key} ${op} ${position.key} or (${key} = ${position.key} and r.id ${op} ${position.id}))`;
    } else {
      seek = position.key === null
        ? sql<boolean>`(${key} is not null or r.id ${op} ${position.id})`
        : sql<boolean>`(${key} is not null and (${key} ${op} ${position.key} or (${key} = ${position.key} and r.id ${op} ${position.id})))`;
    }
  }
  // NULL keys come last in the walk's order, so first when it is read backward.
  const nulls = sql.raw(backward ? 'nulls first' : 'nulls last');
  const result = await sql<Row & { total: string; page_id: string | null; page_key: unknown }>`
    select t.total, p.id as page_id, p.sort_key as page_key, u.* ${extra ? sql`, ${extra}` : sql``}
    from ${total}
    left join lateral (
      select r.id, ${key} as sort_key from ${from} r
      where r.tenant_id = ${tenantId} and ${where} and ${seek}
      order by sort_key ${order} ${nulls}, r.id ${order}
      limit ${options.count + 1}
    ) p on true
    left join ${from} u on u.tenant_id = ${tenantId} and u.id = p.id
    order by p.sort_key ${order} ${nulls}, p.id ${order}`.execute(db);
  const found = result.rows.filter((r) => r.page_id !== null);
  const more = found.length > options.count;
  const page = found.slice(0, options.count).map(({ total: _t, page_id: id, page_key: pageKey, ...row }) => ({
    ...(row as unknown as Row),
    position: { key: pageKey instanceof Date ? pageKey.toISOString() : pageKey ?? null, id: id as string },
  }));
  if (backward) page.reverse();
  return { total: Number(result.rows[0]?.total ?? 0), rows: page, more };
}
