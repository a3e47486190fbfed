/**
 * Desired Auth0 state of one directory user (DESIGN.md "Concepts": derived, never hand-edited), from the
 * directory facts, the tenant's Auth0 binding and its group → role rules. Pure and total: every input
 * yields a state plus warnings, so `provisio status` can always explain a user.
 */
import { mapAttributes } from './attribute-mapping.js';
import { evaluateRules, orderRules, roleLimitWarnings } from './rules.js';
import type {
  DesiredOrganization, DesiredRole, DesiredState, DirectoryUser, Grant, ManagedScope, Provenance, RulesConfig,
  TenantAuth0Binding,
} from './types.js';

/** Auth0 organization names: lowercase letters, digits, `_`, `-`, 1–50 chars (research/auth0.md §1.1). */
const ORG_NAME = /^[a-z0-9_-]{1,50}$/;

/** The app_metadata key listing a shared identity's orgs (DESIGN.md "Concepts", shared user model). */
export const ORGANIZATIONS_KEY = 'organizations';

function allGrants(rules: RulesConfig): Grant[] {
  const grants = orderRules(rules.rules).map((r) => r.grant);
  if (rules.defaultGrant) grants.push(rules.defaultGrant);
  return grants;
}

/**
 * What this tenant is authoritative for: its binding org entirely; in the shared model also the roles its
 * rules can grant in further orgs; and every tenant role its rules can grant. Removing a rule therefore
 * stops managing its tenant roles — the worker may union in previously applied names (types.ts ManagedScope).
 */
export function managedScope(binding: TenantAuth0Binding, rules: RulesConfig): ManagedScope {
  const orgs: ManagedScope['organizations'] = [{ name: binding.organization.name, allRoles: true, roles: [] }];
  const tenantRoles = new Set<string>();
  for (const grant of allGrants(rules)) {
    for (const r of grant.tenantRoles) tenantRoles.add(r);
    if (binding.userModel !== 'shared') continue;
    for (const name of grant.organizations) {
      let org = orgs.find((o) => o.name === name);
      if (!org) {
        org = { name, allRoles: false, roles: [] };
        orgs.push(org);
      }
      for (const r of grant.orgRoles) if (!org.roles.includes(r)) org.roles.push(r);
    }
  }
  return { organizations: orgs, tenantRoles: [...tenantRoles] };
}

function mergeRoles(into: DesiredRole[], from: readonly DesiredRole[]): void {
  for (const role of from) {
    const existing = into.find((r) => r.name === role.name);
    if (existing) existing.because.push(...role.because);
    else into.push({ name: role.name, because: [...role.because] });
  }
}

/** Memberships and tenant roles granted while the user is (or is kept) a member. */
function grantedMemberships(
  user: DirectoryUser, binding: TenantAuth0Binding, rules: RulesConfig, warnings: string[],
): { organizations: DesiredOrganization[]; tenantRoles: DesiredRole[] } {
  const { grants, warnings: ruleWarnings } = evaluateRules(user.groups, rules, binding.organization.name);
  warnings.push(...ruleWarnings);
  if (!grants.membership) return { organizations: [], tenantRoles: [] };
  const bindingBecause: Provenance[] = rules.requireMappedGroup
    ? grants.applied.flatMap((a) => a.because)
    : [{ kind: 'binding' }];
  const home: DesiredOrganization = { name: binding.organization.name, roles: [], because: bindingBecause };
  mergeRoles(home.roles, grants.orgRoles);
  const organizations = [home];
  if (binding.userModel === 'shared') {
    for (const granted of grants.organizations) {
      if (!ORG_NAME.test(granted.name)) {
        warnings.push(`organization "${granted.name}" is not a valid Auth0 organization name (lowercase letters, digits, _ and -, 1–50 chars)`);
      }
      const existing = organizations.find((o) => o.name === granted.name);
      if (existing) {
        mergeRoles(existing.roles, granted.roles);
        existing.because.push(...granted.because);
      } else {
        organizations.push({ name: granted.name, roles: granted.roles.map((r) => ({ name: r.name, because: [...r.because] })), because: [...granted.because] });
      }
    }
  } else if (grants.organizations.length > 0) {
    warnings.push(`isolated user model: further organizations ${grants.organizations.map((o) => `"${o.name}"`).join(', ')} granted by rules are ignored (use the shared model)`);
  }
  return { organizations, tenantRoles: grants.tenantRoles };
}

/**
 * Derives the desired Auth0 state (DESIGN.md "Deprovisioning"): active → exists, unblocked, member of the
 * binding org (unless requireMappedGroup excludes the user) with rule-granted roles; `active:false` →
 * blocked + sessions revoked, memberships kept; deleted → the binding's policy (block | remove-from-org |
 * delete). An admin override then blocks, removes from every org this tenant grants, or deletes (erase).
 * Mapped attributes become root profile fields or `app_metadata.<key>`.
 */
export function deriveDesiredState(user: DirectoryUser, binding: TenantAuth0Binding, rules: RulesConfig): DesiredState {
  const warnings: string[] = [];
  const shared = binding.userModel === 'shared';
  const mapped = mapAttributes(user.resource, binding.attributeMapping, shared ? [ORGANIZATIONS_KEY] : []);
  warnings.push(...mapped.warnings);
  let { organizations, tenantRoles } = grantedMemberships(user, binding, rules, warnings);

  let exists = true;
  let blocked = false;
  let deleteUser = false;
  let revokeSessions = false;
  let lifecycle: Provenance[] = [{ kind: 'binding' }];
  if (user.deleted) {
    const policy = binding.deprovision;
    lifecycle = [{ kind: 'deprovision', policy }];
    revokeSessions = policy !== 'delete';
    if (policy === 'block') {
      blocked = true;
    } else {
      // remove-from-org leaves the block as `active` says: Entra deactivates before it deletes, and a
      // delete must never unblock.
      blocked = policy === 'remove-from-org' && !user.active;
      organizations = [];
      tenantRoles = [];
      if (policy === 'delete') {
        exists = false;
        deleteUser = true;
      }
    }
  } else if (!user.active) {
    // SCIM active:false: block and revoke at once; memberships stay so reactivation is one PATCH.
    lifecycle = [{ kind: 'deprovision', policy: 'deactivated' }];
    blocked = true;
    revokeSessions = true;
  }

  // An admin override (src/admin/user-actions.ts) is applied on top of what the directory says, so no
  // later IdP change or reconcile undoes it; lifting it gives back the directory's state.
  const override = user.override;
  if (override?.erase) {
    // GDPR erasure: the Auth0 user goes whatever the deprovision policy says.
    lifecycle = [{ kind: 'admin', action: 'erased', actor: override.actor }];
    exists = false;
    deleteUser = true;
    blocked = false;
    revokeSessions = false;
    organizations = [];
    tenantRoles = [];
  } else if (override && exists) {
    const directoryKeeps = lifecycle.length === 1 && lifecycle[0]?.kind === 'binding';
    const because: Provenance[] = [];
    if (override.blocked) {
      blocked = true;
      revokeSessions = true;
      because.push({ kind: 'admin', action: 'blocked', actor: override.actor });
    }
    if (override.removedFromOrg) {
      // Like the remove-from-org policy: no token may outlive the membership (the planner revokes only
      // when it actually removes one).
      organizations = [];
      tenantRoles = [];
      revokeSessions = true;
      because.push({ kind: 'admin', action: 'removed-from-org', actor: override.actor });
    }
    if (because.length > 0) lifecycle = directoryKeeps ? because : [...lifecycle, ...because];
  }

  const appMetadata: Record<string, unknown> = { ...mapped.appMetadata };
  if (shared) appMetadata[ORGANIZATIONS_KEY] = organizations.map((o) => o.name);

  for (const w of roleLimitWarnings(organizations, tenantRoles.length)) if (!warnings.includes(w)) warnings.push(w);
  return {
    exists,
    blocked,
    organizations,
    tenantRoles,
    profile: mapped.profile,
    appMetadata,
    deleteUser,
    revokeSessions,
    lifecycle,
    identity: {
      directoryUserId: user.id,
      userName: user.userName,
      externalId: user.externalId,
      email: user.email,
      emailVerified: user.emailVerified ?? false,
    },
    managed: managedScope(binding, rules),
    warnings,
  };
}
