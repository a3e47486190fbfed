/**
 * What a delegated org admin may grant. Roles are Auth0 tenant-wide objects, and one of them may carry
 * Provisio's own `provisio:admin` permission or another organization's admin role: an org admin who could
 * name any role in their rules or invitations could make themselves an operator. So a delegated admin may
 * only grant roles, tenant roles and further organizations that the tenant's stored rules already grant —
 * a set only an operator can widen (by setting the rules with an operator credential).
 */
import type { Grant, RulesConfig } from '../sync/types.js';
import type { AdminPrincipal } from './auth.js';
import { AdminError } from './errors.js';

interface Grantable {
  readonly orgRoles: Set<string>;
  readonly tenantRoles: Set<string>;
  readonly organizations: Set<string>;
}

function grants(rules: RulesConfig): Grant[] {
  return [...rules.rules.map((r) => r.grant), ...(rules.defaultGrant ? [rules.defaultGrant] : [])];
}

/** Everything the stored rules can grant. */
export function grantable(stored: RulesConfig): Grantable {
  const out: Grantable = { orgRoles: new Set(), tenantRoles: new Set(), organizations: new Set() };
  for (const g of grants(stored)) {
    for (const r of g.orgRoles) out.orgRoles.add(r);
    for (const r of g.tenantRoles) out.tenantRoles.add(r);
    for (const o of g.organizations) out.organizations.add(o);
  }
  return out;
}

function refuse(kind: string, names: string[]): never {
  throw AdminError.forbidden(`An org admin may only grant ${kind} the tenant's rules already grant; ask the operator to add ${names.map((n) => `"${n}"`).join(', ')}`);
}

/** Throws 403 when a delegated admin's new rules grant anything the stored rules do not. Operators pass. */
export function checkDelegatedRules(principal: AdminPrincipal, next: RulesConfig, stored: RulesConfig): void {
  if (principal.kind === 'operator') return;
  const allowed = grantable(stored);
  for (const g of grants(next)) {
    const orgRoles = g.orgRoles.filter((r) => !allowed.orgRoles.has(r));
    if (orgRoles.length) refuse('organization roles', orgRoles);
    const tenantRoles = g.tenantRoles.filter((r) => !allowed.tenantRoles.has(r));
    if (tenantRoles.length) refuse('tenant roles', tenantRoles);
    const organizations = g.organizations.filter((o) => !allowed.organizations.has(o));
    if (organizations.length) refuse('organizations', organizations);
  }
}

/** Throws 403 when a delegated admin invites with an org role the stored rules do not grant. */
export function checkDelegatedInvitationRoles(principal: AdminPrincipal, roles: readonly string[], stored: RulesConfig): void {
  if (principal.kind === 'operator') return;
  const allowed = grantable(stored).orgRoles;
  const extra = roles.filter((r) => !allowed.has(r));
  if (extra.length) refuse('organization roles', extra);
}
