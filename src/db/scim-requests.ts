import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';
import { pruneLogOlderThan } from './log-prune.js';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * One SCIM request to store. `tenantId` is known for an authenticated request; a refused one (401, 429)
 * names only `tenantName`, resolved in the insert itself, so nothing on the request path asks whether the
 * tenant exists and rows for names that are no tenant are simply not stored.
 */
export interface NewScimRequest {
  readonly tenantId: string | null;
  readonly tenantName: string | null;
  readonly at: Date;
  readonly tokenId: string | null;
  readonly sourceIp: string | null;
  readonly method: string | null;
  readonly path: string | null;
  readonly status: number | null;
  readonly latencyMs: number | null;
  readonly dialect: string | null;
  readonly resourceType: string | null;
  /** A UUID or null: the column is `uuid`, and one bad value would fail the whole batch. */
  readonly resourceId: string | null;
  readonly scimType: string | null;
  readonly errorDetail: string | null;
  readonly summary: string | null;
  /** How many requests the row stands for (default 1): successful reads over the per-second listing budget are counted in one. */
  readonly requests?: number;
}

/** A stored request as the admin API shows it. */
export interface ScimRequestRecord extends Omit<NewScimRequest, 'tenantId' | 'tenantName'> {
  readonly id: string;
}

/*
 * A whole batch is one statement: one array parameter per column, unnested back into rows (`with
 * ordinality` keeps the batch's order, so ids follow it). The tenant is joined in the same statement:
 * a refused request's name becomes its id here, and a tenant deleted meanwhile drops its rows instead of
 * failing the batch on the foreign key. A fixed text, so it is prepared once per connection (client.ts).
 */
const INSERT_REQUESTS = `insert into scim_requests (tenant_id, at, token_id, source_ip, method, path, status, latency_ms, dialect,
    resource_type, resource_id, scim_type, error_detail, summary, requests)
  select t.id, r.at, r.token_id, r.source_ip, r.method, r.path, r.status, r.latency_ms, r.dialect,
    r.resource_type, r.resource_id, r.scim_type, r.error_detail, r.summary, r.requests
  from unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::int2[], $9::float4[],
    $10::text[], $11::text[], $12::uuid[], $13::text[], $14::text[], $15::text[], $16::int4[]) with ordinality
    as r(tenant_id, tenant_name, at, token_id, source_ip, method, path, status, latency_ms, dialect, resource_type, resource_id, scim_type, error_detail, summary, requests, n)
  join tenants t on t.id = coalesce(r.tenant_id, (select n.id from tenants n where n.name = r.tenant_name))
  order by r.n`;

/** Stores `rows` in one statement; returns how many were stored (rows of unknown tenants are not). */
export async function insertScimRequests(db: Db, rows: readonly NewScimRequest[]): Promise<number> {
  if (rows.length === 0) return 0;
  const column = <T>(pick: (row: NewScimRequest) => T): T[] => rows.map(pick);
  const result = await db.executeQuery(CompiledQuery.raw(INSERT_REQUESTS, [
    column((r) => r.tenantId), column((r) => r.tenantName), column((r) => r.at.toISOString()), column((r) => r.tokenId),
    column((r) => r.sourceIp), column((r) => r.method), column((r) => r.path), column((r) => r.status), column((r) => r.latencyMs),
    column((r) => r.dialect), column((r) => r.resourceType), column((r) => r.resourceId), column((r) => r.scimType),
    column((r) => r.errorDetail), column((r) => r.summary), column((r) => r.requests ?? 1),
  ]));
  return Number(result.numAffectedRows ?? 0n);
}

export interface ScimRequestPageOptions {
  readonly limit: number;
  /** Newest first, older than this id (the `next` of the previous page). */
  readonly before?: string;
  /** Oldest first, newer than this id (a live panel polling for what came since). */
  readonly after?: string;
  /** Only answers with status ≥ 400. */
  readonly errorsOnly?: boolean;
}

/**
 * A page of a tenant's requests by keyset on `id`: newest first, or oldest first after `after`. Across
 * replicas a row can become visible after one with a higher id (two batches committing out of order), so
 * a poller can miss such a row; one process inserts one batch at a time, which keeps its own in order.
 */
export async function listScimRequests(db: Db, tenantId: string, options: ScimRequestPageOptions): Promise<ScimRequestRecord[]> {
  let query = db.selectFrom('scim_requests').selectAll().where('tenant_id', '=', tenantId);
  if (options.before !== undefined) query = query.where('id', '<', options.before);
  if (options.after !== undefined) query = query.where('id', '>', options.after);
  if (options.errorsOnly) query = query.where('status', '>=', 400);
  const rows = await query.orderBy('id', options.after !== undefined ? 'asc' : 'desc').limit(options.limit).execute();
  return rows.map((r) => ({
    id: String(r.id), at: new Date(r.at), tokenId: r.token_id, sourceIp: r.source_ip, method: r.method, path: r.path, status: r.status,
    latencyMs: r.latency_ms, dialect: r.dialect, resourceType: r.resource_type, resourceId: r.resource_id, scimType: r.scim_type,
    errorDetail: r.error_detail, summary: r.summary, requests: r.requests,
  }));
}

/** Requests and errors (status ≥ 400) in one minute. */
export interface MinuteBucket {
  readonly minute: Date;
  readonly requests: number;
  readonly errors: number;
}

export interface ScimRequestStats {
  readonly total: number;
  readonly errors: number;
  /** The tenant's newest stored request, inside the window or not. */
  readonly lastAt: Date | null;
  /** Oldest first; only minutes with requests. */
  readonly perMinute: MinuteBucket[];
}

/*
 * The window's rows are found through the (tenant_id, id desc) index: ids follow time, so the newest row
 * older than the window bounds the scan from below, instead of reading every row the tenant kept for the
 * whole retention. Rows stored out of time order (a batch from another replica) by a few hundred
 * milliseconds can fall on the wrong side of that edge, which a per-minute chart does not show.
 */
const WINDOW_BUCKETS = `select date_trunc('minute', at) as minute, sum(requests)::int as requests, (coalesce(sum(requests) filter (where status >= 400), 0))::int as errors
  from scim_requests
  where tenant_id = $1 and at >= $2
    and id > coalesce((select b.id from scim_requests b where b.tenant_id = $1 and b.at < $2 order by b.id desc limit 1), 0)
  group by 1 order by 1 limit $3`;
const LAST_AT = 'select at from scim_requests where tenant_id = $1 order by id desc limit 1';

/** Totals and per-minute buckets of a tenant's requests since `since` (at most `maxBuckets` minutes). */
export async function scimRequestStats(db: Db, tenantId: string, since: Date, maxBuckets: number): Promise<ScimRequestStats> {
  const buckets = await db.executeQuery<{ minute: Date | string; requests: number; errors: number }>(
    CompiledQuery.raw(WINDOW_BUCKETS, [tenantId, since.toISOString(), maxBuckets]),
  );
  const last = await db.executeQuery<{ at: Date | string }>(CompiledQuery.raw(LAST_AT, [tenantId]));
  const perMinute = buckets.rows.map((b) => ({ minute: new Date(b.minute), requests: Number(b.requests), errors: Number(b.errors) }));
  return {
    total: perMinute.reduce((n, b) => n + b.requests, 0),
    errors: perMinute.reduce((n, b) => n + b.errors, 0),
    lastAt: last.rows[0] ? new Date(last.rows[0].at) : null,
    perMinute,
  };
}

/** Deletes every request older than `cutoff` (`pruneLogOlderThan`). */
export function pruneScimRequests(db: Db, cutoff: Date, batchSize = 10_000, stopped: () => boolean = () => false): Promise<number> {
  return pruneLogOlderThan(db, 'scim_requests', cutoff, batchSize, stopped);
}
