/**
 * Auth0's own inbound SCIM for an enterprise connection (research/auth0.md §5): `POST {url}/Users` with the
 * connection's SCIM bearer token creates the real enterprise user ahead of login, and its SCIM `id` *is* the
 * Auth0 `user_id`. The SDK has no method for it, so this is plain `fetch` (undici). Metered separately from
 * the Management API: 25 rps per connection, 100 tenant-wide (§2) — the `scim` bucket scoped by URL.
 */
import { Auth0PermanentError, classifyAuth0Error, errorFromStatus } from './errors.js';
import { performance } from 'node:perf_hooks';
import type { CallOutcome, CallStats } from './call-stats.js';
import type { RateBudget } from './rate-budget.js';

/** Dependencies shared with the gateway. */
export interface InboundScimDeps {
  budget: RateBudget;
  stats: CallStats;
  fetch: typeof fetch;
  now: () => number;
  secrets: readonly string[];
  timeoutMs: number;
  /** A gateway view's observer (src/auth0/gateway.ts `observed`). */
  observer?: (operation: string, outcome: CallOutcome, durationMs: number) => void;
}

/** Counts a finished request and tells the observer; an observer's failure never fails the request. */
function count(deps: InboundScimDeps, operation: string, outcome: CallOutcome, startedAt: number): void {
  deps.stats.record(operation, outcome);
  try {
    deps.observer?.(operation, outcome, performance.now() - startedAt);
  } catch {
    // The history is best effort; the request succeeded or failed on its own.
  }
}

/** The SCIM resource to create (core User schema; Auth0 maps userName, emails, name, externalId, active). */
export type InboundScimUser = Record<string, unknown> & { userName: string };

const CREATE = 'POST /scim/v2/connections/{id}/Users';
const SEARCH = 'GET /scim/v2/connections/{id}/Users';

/** A SCIM filter string literal (RFC 7644 §3.4.2.2: JSON string rules). */
function scimString(value: string): string {
  return JSON.stringify(value);
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** One metered SCIM request: acquire, fetch with timeout, observe headers, count, classify failures. */
async function scimRequest(
  deps: InboundScimDeps, operation: string, fairnessKey: string, scope: string, url: string, token: string, init: RequestInit,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  await deps.budget.acquire('scim', fairnessKey, scope);
  const secrets = [...deps.secrets, token];
  const startedAt = performance.now();
  let res: Response;
  try {
    res = await deps.fetch(url, {
      ...init,
      headers: { authorization: `Bearer ${token}`, accept: 'application/scim+json', 'content-type': 'application/scim+json' },
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
  } catch (err) {
    const classified = classifyAuth0Error(err, { operation, now: deps.now(), secrets });
    count(deps, operation, 'reason' in classified && classified.reason === 'timeout' ? 'timeout' : 'network', startedAt);
    throw classified;
  }
  deps.budget.observe('scim', res.headers, res.status, scope);
  count(deps, operation, res.status, startedAt);
  const body = await readJson(res);
  return { status: res.status, body, headers: res.headers };
}

function idOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const id: unknown = (body as Record<string, unknown>)['id'];
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

/**
 * Creates the user through the connection's SCIM endpoint and returns its Auth0 `user_id`. Idempotent: a
 * 409 (already provisioned, e.g. a retry after a crash) looks the user up by `userName` and returns its id.
 */
export async function createInboundScimUser(
  deps: InboundScimDeps, connectionScimUrl: string, scimToken: string, scimUser: InboundScimUser, fairnessKey: string,
): Promise<string> {
  const base = connectionScimUrl.replace(/\/+$/, '');
  const scope = base;
  const secrets = [...deps.secrets, scimToken];
  const body = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], ...scimUser };
  const created = await scimRequest(deps, CREATE, fairnessKey, scope, `${base}/Users`, scimToken, { method: 'POST', body: JSON.stringify(body) });
  if (created.status === 200 || created.status === 201) {
    const id = idOf(created.body);
    if (id) return id;
    throw new Auth0PermanentError(CREATE, created.status, undefined, `Auth0 ${CREATE} → ${created.status}: response has no id`);
  }
  if (created.status !== 409) throw errorFromStatus(created.status, created.body, created.headers, { operation: CREATE, now: deps.now(), secrets });

  const filter = encodeURIComponent(`userName eq ${scimString(scimUser.userName)}`);
  const found = await scimRequest(deps, SEARCH, fairnessKey, scope, `${base}/Users?filter=${filter}`, scimToken, { method: 'GET' });
  if (found.status !== 200) throw errorFromStatus(found.status, found.body, found.headers, { operation: SEARCH, now: deps.now(), secrets });
  const resources: unknown = typeof found.body === 'object' && found.body !== null ? (found.body as Record<string, unknown>)['Resources'] : undefined;
  const id = Array.isArray(resources) ? idOf(resources[0]) : undefined;
  if (id) return id;
  throw new Auth0PermanentError(SEARCH, 409, undefined, `Auth0 ${CREATE} → 409 but no user with that userName was found`);
}
