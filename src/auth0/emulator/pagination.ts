/**
 * Offset and checkpoint pagination as the Management API does them (research/auth0.md §1.2; spec
 * `List*OffsetPaginatedResponseContent` / `List*PaginatedResponseContent`).
 * - Offset: `page` (0-based), `per_page` (default 50), `include_totals` → bare array, or
 *   `{start, limit, total, <key>}` (users add `length`). Past the end → empty page, which is what ends the
 *   official SDK's offset iteration. At most 1,000 records are reachable: 400 `invalid_paging` beyond.
 * - Checkpoint: `from` (opaque, forward-only) + `take` → `{<key>, next?}`; no `next` on the last page;
 *   `include_totals` ignored. Only on endpoints whose spec lists `from`/`take`.
 */
import { invalidPaging, invalidQuery } from './errors.js';

/** Paging-related query parameters after schema coercion. */
export interface PagingQuery {
  page?: number;
  per_page?: number;
  include_totals?: boolean;
  from?: string;
  take?: number;
}

/** Offset paging reaches at most this many records (docs:/api/management/v2 "Pagination"). */
export const OFFSET_RECORD_CAP = 1000;
const DEFAULT_PAGE_SIZE = 50;

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Reads the paging parameters from a (schema-coerced) query object. */
export function pagingQuery(query: unknown): PagingQuery {
  const q: Record<string, unknown> = typeof query === 'object' && query !== null ? { ...query } : {};
  const out: PagingQuery = {};
  const page = num(q['page']);
  const perPage = num(q['per_page']);
  const take = num(q['take']);
  if (page !== undefined) out.page = page;
  if (perPage !== undefined) out.per_page = perPage;
  if (take !== undefined) out.take = take;
  if (typeof q['include_totals'] === 'boolean') out.include_totals = q['include_totals'];
  if (typeof q['from'] === 'string') out.from = q['from'];
  return out;
}

/**
 * One offset page; `withLength` adds the `length` field users responses carry; `withTotal: false` for
 * wrappers the spec defines without `total` (organization invitations).
 */
export function offsetPage<T>(items: readonly T[], q: PagingQuery, key: string, withLength = false, withTotal = true): unknown {
  const page = q.page ?? 0;
  const perPage = q.per_page ?? DEFAULT_PAGE_SIZE;
  if ((page + 1) * perPage > OFFSET_RECORD_CAP) throw invalidPaging();
  const start = page * perPage;
  const slice = items.slice(start, start + perPage);
  if (!q.include_totals) return slice;
  const body: Record<string, unknown> = { start, limit: perPage };
  if (withLength) body['length'] = slice.length;
  if (withTotal) body['total'] = items.length;
  body[key] = slice;
  return body;
}

function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

function decodeCursor(from: string): string {
  const id = Buffer.from(from, 'base64url').toString('utf8');
  if (id.length === 0 || encodeCursor(id) !== from) throw invalidQuery('Invalid value for parameter "from"');
  return id;
}

/**
 * One checkpoint page. Items are ordered by `idOf` and the cursor names the last id returned, so a
 * deletion between pages neither repeats nor skips a record.
 */
export function checkpointPage<T>(items: readonly T[], q: PagingQuery, key: string, idOf: (item: T) => string): unknown {
  const take = q.take ?? DEFAULT_PAGE_SIZE;
  const sorted = [...items].sort((a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0));
  const after = q.from === undefined ? undefined : decodeCursor(q.from);
  const rest = after === undefined ? sorted : sorted.filter((item) => idOf(item) > after);
  const slice = rest.slice(0, take);
  const body: Record<string, unknown> = { [key]: slice };
  const last = slice[slice.length - 1];
  if (rest.length > take && last !== undefined) body['next'] = encodeCursor(idOf(last));
  return body;
}

/**
 * Offset or checkpoint, as the endpoint supports: checkpoint when `from` or `take` is present and the
 * endpoint has `idOf` (spec lists `from`/`take`), offset otherwise.
 */
export function paginate<T>(
  items: readonly T[],
  query: unknown,
  key: string,
  options: { idOf?: (item: T) => string; withLength?: boolean; withTotal?: boolean } = {},
): unknown {
  const q = pagingQuery(query);
  if (options.idOf && (q.from !== undefined || q.take !== undefined)) return checkpointPage(items, q, key, options.idOf);
  return offsetPage(items, q, key, options.withLength ?? false, options.withTotal ?? true);
}
