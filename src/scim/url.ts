/**
 * SCIM endpoint names are matched case-insensitively and with or without a trailing slash: clients and
 * validators send `/users`, `/USERS` and `/Users/` (RFC 7644 names the endpoints but URL paths are
 * case-sensitive by default, so each server picks). The URL is rewritten to the canonical spelling before
 * routing (Fastify's `rewriteUrl`), so every route, log line and metric sees one name; ids, tenant names
 * and the query string are left exactly as sent.
 */

const PREFIX = '/scim/v2/';

/** The endpoint names under `/scim/v2/<tenant>/`, by their lower-case spelling. */
const ENDPOINTS = new Map(
  ['Users', 'Groups', 'Schemas', 'ResourceTypes', 'ServiceProviderConfig', 'Bulk', '.search'].map((name) => [name.toLowerCase(), name]),
);

/** `.search` under a resource endpoint (`/Users/.SEARCH`). */
const SEARCH = '.search';

/**
 * The canonical form of a request URL: the endpoint segment (and a `.search` after it) in the RFC's
 * spelling, and no trailing slash after the last segment. Anything outside `/scim/v2/` is returned as is.
 */
export function canonicalScimUrl(url: string): string {
  if (!url.startsWith(PREFIX)) return url;
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const query = queryAt < 0 ? '' : url.slice(queryAt);
  const segments = path.slice(PREFIX.length).split('/');
  // [tenant, endpoint, ...rest]; the endpoint is absent for `/scim/v2/<tenant>` itself.
  let changed = false;
  if (segments.length > 2 && segments[segments.length - 1] === '') {
    segments.pop();
    changed = true;
  }
  const endpoint = segments[1];
  if (endpoint !== undefined) {
    const canonical = ENDPOINTS.get(endpoint.toLowerCase());
    if (canonical !== undefined && canonical !== endpoint) {
      segments[1] = canonical;
      changed = true;
    }
    const next = segments[2];
    if (segments.length === 3 && next !== undefined && next !== SEARCH && next.toLowerCase() === SEARCH) {
      segments[2] = SEARCH;
      changed = true;
    }
  }
  return changed ? `${PREFIX}${segments.join('/')}${query}` : url;
}
