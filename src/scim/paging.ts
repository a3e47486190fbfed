import type { KeysetOptions, KeysetPage } from './sql/list.js';
import type { ScimContext } from './context.js';
import { cursorCodec, type CursorScope, type CursorState } from './cursor.js';
import type { ListQuery } from './query.js';
import type { ScimResource } from './schemas/types.js';
import { URN } from './urn.js';

/**
 * One page of an RFC 9865 cursor walk: decodes the request's cursor, reads the page by keyset, and
 * answers a ListResponse with `nextCursor` when rows follow and `previousCursor` when rows precede
 * (no `startIndex`: the page has no index). `totalResults` stays exact, as with index paging.
 */
export async function cursorListResponse<Row>(
  ctx: ScimContext,
  resourceType: string,
  query: ListQuery & { readonly cursor: string },
  read: (options: KeysetOptions) => Promise<KeysetPage<Row>>,
  render: (row: Row) => ScimResource,
): Promise<ScimResource> {
  const scope: CursorScope = {
    tenantId: ctx.tenantId,
    resourceType,
    ...(query.filter ? { filter: query.filter } : {}),
    ...(query.sortBy ? { sortBy: query.sortBy } : {}),
    sortOrder: query.sortOrder,
  };
  const codec = await cursorCodec(ctx.db, ctx.settings.cursorTimeoutSeconds);
  const state: CursorState | undefined = query.cursor === '' ? undefined : codec.decode(scope, query.cursor);
  const page = await read({
    filter: query.filter,
    sortBy: query.sortBy,
    sortOrder: query.sortOrder,
    count: query.count,
    ...(state?.direction === 'next' ? { after: state.position } : {}),
    ...(state?.direction === 'previous' ? { before: state.position } : {}),
  });
  const first = page.rows[0];
  const last = page.rows[page.rows.length - 1];
  const backward = state?.direction === 'previous';
  // Read forward, rows follow when the read found more; read backward, the position itself follows.
  const follows = backward ? last !== undefined : page.more;
  // Read backward, rows precede when the read found more; read forward, any cursor came from a page before.
  const precedes = backward ? page.more : state !== undefined && first !== undefined;
  const list: ScimResource = {
    schemas: [URN.listResponse],
    totalResults: page.total,
    itemsPerPage: page.rows.length,
    Resources: page.rows.map(render),
  };
  if (follows && last) list.nextCursor = codec.encode(scope, { direction: 'next', position: last.position });
  if (precedes && first) list.previousCursor = codec.encode(scope, { direction: 'previous', position: first.position });
  return list;
}
