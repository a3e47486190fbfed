import type { FastifyInstance } from 'fastify';
import { requireScope } from '../auth.js';
import { ScimError } from '../errors.js';
import * as groups from '../groups.js';
import { listResponse } from '../mapping.js';
import { cancellable, scimContext, sendScim, type ScimPluginOptions } from '../plugin.js';
import { parseListQuery, searchRequestParams } from '../query.js';
import type { ScimResource } from '../schemas/types.js';
import * as users from '../users.js';

/**
 * `POST /.search` at the tenant root (RFC 7644 §3.4.3): searches Users then Groups as one result set.
 * A filter naming an attribute one type lacks simply excludes that type; `sortBy` applies within each
 * type (Users first), and paging runs over the concatenation so totals and offsets stay exact.
 */
export function registerSearchRoute(app: FastifyInstance, options: ScimPluginOptions): void {
  app.post('/.search', async (request, reply) => {
    const principal = request.scimPrincipal!;
    const ctx = scimContext(request, options);
    const query = parseListQuery(searchRequestParams(request.body), options.settings);
    // A walk over two tables has no single keyset to resume from.
    if (query.cursor !== undefined) throw ScimError.invalidValue('Cursor paging (RFC 9865) is offered on /Users, /Groups and their /.search; the root /.search pages by startIndex');
    const canUsers = principal.scopes.has('users:read');
    const canGroups = principal.scopes.has('groups:read');
    if (!canUsers && !canGroups) requireScope(principal, 'users:read');

    const attempt = async (run: () => Promise<ScimResource>): Promise<{ total: number; resources: ScimResource[] } | ScimError> => {
      try {
        const page = await cancellable(options, reply, run);
        return { total: page.totalResults as number, resources: page.Resources as ScimResource[] };
      } catch (err) {
        if (err instanceof ScimError && err.status === 400) return err;
        throw err;
      }
    };
    // Totals first (count 0), then exactly the rows the requested window needs from each type.
    const countOnly = { ...query, count: 0, startIndex: 1 };
    const userTotal = canUsers ? await attempt(() => users.listUsers(ctx, countOnly)) : { total: 0, resources: [] };
    const groupTotal = canGroups ? await attempt(() => groups.listGroups(ctx, countOnly)) : { total: 0, resources: [] };
    if (userTotal instanceof ScimError && groupTotal instanceof ScimError) throw userTotal;
    const nUsers = userTotal instanceof ScimError ? 0 : userTotal.total;
    const nGroups = groupTotal instanceof ScimError ? 0 : groupTotal.total;

    const resources: ScimResource[] = [];
    const start = query.startIndex;
    if (nUsers > 0 && start <= nUsers && query.count > 0) {
      const page = await users.listUsers(ctx, { ...query, startIndex: start, count: Math.min(query.count, nUsers - start + 1) });
      resources.push(...(page.Resources as ScimResource[]));
    }
    const remaining = query.count - resources.length;
    if (nGroups > 0 && remaining > 0) {
      const groupStart = Math.max(1, start - nUsers);
      if (groupStart <= nGroups) {
        const page = await groups.listGroups(ctx, { ...query, startIndex: groupStart, count: remaining });
        resources.push(...(page.Resources as ScimResource[]));
      }
    }
    return sendScim(reply, 200, listResponse(resources, nUsers + nGroups, start));
  });
}
