/**
 * Who is calling the admin API. Two kinds of credential (issue: "admin API token (stored hashed) or an
 * Auth0-issued RS256 access token verified against the tenant's JWKS carrying a permission claim"):
 * - `pva_…` admin tokens: operator tokens reach every tenant, delegated tokens one tenant;
 * - `pvl_…` setup-link secrets: a delegated token that always expires, held by a customer's IT admin
 *   who opened the link in the console (src/admin/setup-links.ts);
 * - Auth0 access tokens: `permissions` (Auth0 RBAC) or `scope` holding `provisio:admin` (operator) or
 *   `provisio:org-admin` (delegated: the tenant whose bound Auth0 organization is the token's `org_id`,
 *   or `org_name`, which Auth0 adds when the admin logs in through the organization).
 */
import { sql, type Kysely } from 'kysely';
import { findAdminTokenByHash, touchAdminToken } from '../db/admin-tokens.js';
import type { Database } from '../db/schema.js';
import { ADMIN_TOKEN_PREFIX } from './admin-tokens.js';
import { SETUP_LINK_PREFIX } from './setup-links.js';
import { AdminError } from './errors.js';
import { hashToken } from './tokens.js';

export const OPERATOR_PERMISSION = 'provisio:admin';
export const ORG_ADMIN_PERMISSION = 'provisio:org-admin';

export type AdminPrincipal =
  | { readonly kind: 'operator'; readonly actor: string }
  | { readonly kind: 'org-admin'; readonly tenantId: string; readonly tenantName: string; readonly actor: string };

/** Verifies a JWT's signature and registered claims and returns its payload (from @fastify/jwt). */
export type JwtVerifier = () => Promise<unknown>;

const TOUCH_INTERVAL_MS = 60_000;

export class AdminAuthenticator {
  private readonly touched = new Map<string, number>();

  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Resolves the caller. `verifyJwt` is absent when no Auth0 issuer is configured; a JWT is then a 401
   * like any unknown token.
   */
  async authenticate(authorization: string | undefined, verifyJwt?: JwtVerifier): Promise<AdminPrincipal> {
    const token = bearer(authorization);
    if (!token) throw AdminError.unauthorized('Send an admin token or an Auth0 access token as "Authorization: Bearer <token>"', false);
    if (token.startsWith(ADMIN_TOKEN_PREFIX)) return this.fromAdminToken(token, 'token');
    if (token.startsWith(SETUP_LINK_PREFIX)) return this.fromAdminToken(token, 'setup-link');
    if (verifyJwt && token.split('.').length === 3) return this.fromJwt(await verifyJwt());
    throw AdminError.unauthorized('The bearer token is not valid');
  }

  private async fromAdminToken(token: string, kind: 'token' | 'setup-link'): Promise<AdminPrincipal> {
    const hash = hashToken(token);
    const found = await findAdminTokenByHash(this.db, hash);
    const row = found?.kind === kind ? found : undefined;
    const now = Date.now();
    if (row && kind === 'setup-link') {
      // Whoever holds a link's secret may learn why it stopped working: the IT admin needs to know
      // whether to ask for a new link, and learns nothing the link did not already give them.
      if (row.revoked_at) throw AdminError.unauthorized('This setup link was revoked. Ask the person who sent it for a new link.');
      if (row.expires_at && row.expires_at.getTime() <= now) {
        throw AdminError.unauthorized(`This setup link expired on ${row.expires_at.toISOString()}. Ask the person who sent it for a new link.`);
      }
    }
    // One answer for unknown, revoked and expired tokens: the caller learns nothing about which.
    if (!row || row.revoked_at || (row.expires_at && row.expires_at.getTime() <= now)) {
      throw AdminError.unauthorized(kind === 'setup-link' ? 'This setup link is not valid. Check that the whole link was copied.' : 'The bearer token is not valid');
    }
    this.touch(row.id, now);
    const actor = `${kind === 'setup-link' ? 'setup-link' : 'token'}:${row.id}`;
    if (row.tenant_id === null) {
      if (kind === 'setup-link') throw AdminError.unauthorized('This setup link is not valid');
      return { kind: 'operator', actor };
    }
    return { kind: 'org-admin', tenantId: row.tenant_id, tenantName: row.tenant_name ?? '', actor };
  }

  private async fromJwt(payload: unknown): Promise<AdminPrincipal> {
    const claims = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
    const permissions = grantedPermissions(claims);
    const actor = `jwt:${typeof claims.sub === 'string' ? claims.sub : 'unknown'}`;
    const orgId = typeof claims.org_id === 'string' ? claims.org_id : undefined;
    const orgName = typeof claims.org_name === 'string' ? claims.org_name : undefined;
    // A token issued through an organization login carries that org's member-role permissions, and org
    // roles are assigned by tenants' rules: it may never be more than an org admin of that organization.
    if (permissions.has(OPERATOR_PERMISSION) && !orgId && !orgName) return { kind: 'operator', actor };
    if (!permissions.has(ORG_ADMIN_PERMISSION)) {
      const why = permissions.has(OPERATOR_PERMISSION) ? ` ("${OPERATOR_PERMISSION}" is refused in a token issued through an organization)` : '';
      throw AdminError.forbidden(`The access token carries neither "${OPERATOR_PERMISSION}" nor "${ORG_ADMIN_PERMISSION}"${why}`);
    }
    if (!orgId && !orgName) throw AdminError.forbidden(`"${ORG_ADMIN_PERMISSION}" needs an org_id claim: log in through the organization`);
    const tenant = await tenantOfOrganization(this.db, orgId, orgName);
    if (!tenant) throw AdminError.forbidden(`No tenant is bound to the Auth0 organization ${orgId ?? orgName}`);
    return { kind: 'org-admin', tenantId: tenant.id, tenantName: tenant.name, actor };
  }

  /** Records `last_used_at` at most once a minute per token, off the request's critical path. */
  private touch(id: string, now: number): void {
    if (now - (this.touched.get(id) ?? 0) < TOUCH_INTERVAL_MS) return;
    this.touched.set(id, now);
    touchAdminToken(this.db, id, new Date(now)).catch(() => undefined);
  }
}

/**
 * Auth0 RBAC puts a user's permissions in a `permissions` array. `scope` counts only in a client-credentials
 * token (an M2M application authorised for the API): a user's `scope` is whatever the user asked for when
 * RBAC is off.
 */
function grantedPermissions(claims: Record<string, unknown>): Set<string> {
  const granted = new Set<string>();
  if (Array.isArray(claims.permissions)) for (const p of claims.permissions) if (typeof p === 'string') granted.add(p);
  if (claims.gty === 'client-credentials' && typeof claims.scope === 'string') for (const s of claims.scope.split(' ')) if (s) granted.add(s);
  return granted;
}

/**
 * The tenant bound to this Auth0 organization: by id once the sync has resolved it; by name when the token
 * carries no `org_id` or the binding's id is not known yet. A token whose `org_id` contradicts a resolved
 * binding never matches by name.
 */
async function tenantOfOrganization(db: Kysely<Database>, orgId: string | undefined, orgName: string | undefined): Promise<{ id: string; name: string } | undefined> {
  const { rows } = await sql<{ id: string; name: string }>`
    select t.id, t.name from tenant_sync_config c join tenants t on t.id = c.tenant_id
    where (${orgId ?? null}::text is not null and c.binding -> 'organization' ->> 'id' = ${orgId ?? null})
       or (${orgName ?? null}::text is not null and c.binding -> 'organization' ->> 'name' = ${orgName ?? null}
           and (${orgId ?? null}::text is null or c.binding -> 'organization' ->> 'id' is null))
    order by (c.binding -> 'organization' ->> 'id' = ${orgId ?? null}) desc nulls last limit 1`.execute(db);
  return rows[0];
}

function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
}

/** Throws unless the principal may act on `tenantId`: operators on every tenant, org admins on their own. */
export function requireTenantAccess(principal: AdminPrincipal, tenantName: string): void {
  // A 403 whether or not the other tenant exists: a delegated admin learns nothing about other tenants.
  if (principal.kind === 'org-admin' && principal.tenantName !== tenantName) {
    throw AdminError.forbidden(`This credential is scoped to tenant "${principal.tenantName}"`);
  }
}

export function requireOperator(principal: AdminPrincipal): void {
  if (principal.kind !== 'operator') throw AdminError.forbidden('Only an operator credential may do this');
}
