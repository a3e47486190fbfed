/**
 * Who is calling the Management API and what they may do. Okta accepts two credentials
 * (developer.okta.com/docs/api/openapi/okta-management/guides/overview, "Authentication"):
 * - `Authorization: SSWS <API token>`: the token acts with its admin's full rights (here: everything);
 * - `Authorization: Bearer <access token>` minted for a service app: limited to the token's scopes, by
 *   endpoint family (developer.okta.com/docs/guides/implement-oauth-for-okta/main, "Scopes and supported
 *   endpoints"): reads need `okta.<family>.read` or `okta.<family>.manage`, writes `okta.<family>.manage`.
 * A missing, unknown or expired credential is 401 E0000011; a missing scope is 403 E0000006.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { OktaEmulatorContext } from './context.js';
import { insufficientScope, invalidToken } from './errors.js';

/** The authenticated caller: the API token, or a service app holding some scopes. */
export type OktaCaller =
  | { kind: 'api-token' }
  | { kind: 'service-app'; clientId: string; scopes: readonly string[] };

/** The endpoint families that have Okta scopes in the emulator. */
export type OktaScopeFamily = 'users' | 'groups';

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The caller of a request, or 401 E0000011. */
export function authenticate(ctx: OktaEmulatorContext, request: FastifyRequest): OktaCaller {
  const match = /^(SSWS|Bearer)\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  const scheme = match?.[1]?.toLowerCase();
  const credential = match?.[2];
  if (!credential) throw invalidToken();
  if (scheme === 'ssws') {
    if (!sameToken(credential, ctx.token)) throw invalidToken();
    return { kind: 'api-token' };
  }
  const grant = ctx.accessTokens.find(credential);
  if (!grant) throw invalidToken();
  return { kind: 'service-app', clientId: grant.clientId, scopes: grant.scopes };
}

/** The endpoint family a path template belongs to (`/api/v1/users/{userId}/groups` is a users endpoint). */
export function scopeFamilyOf(template: string): OktaScopeFamily {
  return template.startsWith('/api/v1/groups') ? 'groups' : 'users';
}

/**
 * Throws 403 E0000006 (with Okta's `insufficient_scope` challenge) unless the caller may call `method` on
 * `template`. `resource` (the request path) and `origin` go into the challenge.
 */
export function requireScope(caller: OktaCaller, method: string, template: string, resource: string, origin: string): void {
  if (caller.kind === 'api-token') return;
  const family = scopeFamilyOf(template);
  const manage = `okta.${family}.manage`;
  const read = `okta.${family}.read`;
  const accepted = method === 'GET' ? [read, manage] : [manage];
  if (accepted.some((scope) => caller.scopes.includes(scope))) return;
  throw insufficientScope(method === 'GET' ? read : manage, resource, origin);
}
