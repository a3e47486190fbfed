/**
 * Okta's cursor pagination (developer.okta.com/docs/api/#pagination): `limit` caps a page, the response's
 * `Link` header carries `rel="self"` and, when more records follow, `rel="next"` with an opaque `after`.
 * The cursor here encodes the insertion sequence of the last record returned, so a deletion between
 * pages neither repeats nor skips a record.
 */
import { invalidSearch } from './errors.js';

/** One page and the `Link` header to send with it. */
export interface OktaPage<T> {
  items: T[];
  link: string;
}

function encodeCursor(seq: number): string {
  return Buffer.from(String(seq), 'utf8').toString('base64url');
}

function decodeCursor(after: string): number {
  const seq = Number(Buffer.from(after, 'base64url').toString('utf8'));
  if (!Number.isSafeInteger(seq) || encodeCursor(seq) !== after) throw invalidSearch('after: Invalid cursor');
  return seq;
}

/**
 * Pages `items` (any order; sorted here by `seqOf`) for a request to `url` (absolute, with its query).
 * `limit` outside 1…`maxLimit` is clamped to the maximum, as Okta does for large values.
 */
export function pageOf<T>(
  items: readonly T[],
  url: URL,
  options: { seqOf: (item: T) => number; defaultLimit: number; maxLimit: number },
): OktaPage<T> {
  const rawLimit = Number(url.searchParams.get('limit') ?? options.defaultLimit);
  const limit = Number.isInteger(rawLimit) && rawLimit > 0 ? Math.min(rawLimit, options.maxLimit) : options.maxLimit;
  const afterParam = url.searchParams.get('after');
  const after = afterParam === null || afterParam === '' ? undefined : decodeCursor(afterParam);
  const sorted = [...items].sort((a, b) => options.seqOf(a) - options.seqOf(b));
  const rest = after === undefined ? sorted : sorted.filter((item) => options.seqOf(item) > after);
  const page = rest.slice(0, limit);
  const links = [`<${url.href}>; rel="self"`];
  const last = page[page.length - 1];
  if (rest.length > limit && last !== undefined) {
    const next = new URL(url.href);
    next.searchParams.set('after', encodeCursor(options.seqOf(last)));
    next.searchParams.set('limit', String(limit));
    links.push(`<${next.href}>; rel="next"`);
  }
  return { items: page, link: links.join(', ') };
}
