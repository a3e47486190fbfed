import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Filter } from 'scim2-parse-filter';
import type { ScimResourceType } from '../scim/schemas/types.js';
import type { Database } from './schema.js';
import { compileFilter, compileSortKey } from './scim-filter.js';

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
  // Unfiltered: the trigger-maintained count (migration 0003); filtered: count the matches.
  const total = options.filter
    ? sql`(select count(*) as total from ${from} r where r.tenant_id = ${tenantId} and ${where}) t`
    : sql`(select coalesce(sum(n), 0) as total from resource_counts c where c.tenant_id = ${tenantId} and c.resource = ${table}) t`;
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
