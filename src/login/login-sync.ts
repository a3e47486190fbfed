/**
 * The part of a user's sync that must exist for this login (membership of the login's org and its roles,
 * creating the org for a JIT tenant), done synchronously inside a hard time budget; everything else goes
 * to the sync queue. Reuses the sync's own snapshot → plan → execute, filtered, so the login and the
 * worker can never disagree about what "provisioned" means.
 */
import type { Auth0Gateway } from '../auth0/gateway.js';
import { callAuth0, executePlan, readSnapshot, type ExecutionContext } from '../sync/executor.js';
import { planUserSync } from '../sync/planner.js';
import type { DesiredState, SyncAction, TenantAuth0Binding } from '../sync/types.js';

/** Actions a login waits for; profile, tenant roles, onboarding and removals are left to the worker. */
const LOGIN_ACTIONS: ReadonlySet<SyncAction['type']> = new Set(['ensureOrganization', 'addMembership', 'addOrgRoles']);

/** Runs `work` but answers after at most `ms`: `timeout` leaves the work running (it is idempotent). */
export async function withBudget<T>(work: Promise<T>, ms: number): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
  });
  try {
    return await Promise.race([work.then((value) => ({ done: true as const, value })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What the synchronous part did. */
export interface LoginSyncResult {
  readonly actions: readonly SyncAction[];
  /** The binding org's id, when known (found, created, or given by the login). */
  readonly orgId: string | undefined;
}

/**
 * Applies membership and org roles of `desired` for `auth0UserId` now (no member batching: one user, one call).
 * `firstLogin`: Auth0 created the user for this login (`logins_count` 1), so there is nothing to read — plan
 * from an empty snapshot and send only the adds, which Auth0 treats idempotently (re-adding a member or a
 * role changes nothing). Saves the four reads of a snapshot: most of a JIT login's time at ~100 ms per call.
 */
/** The rate-budget fairness key of a tenant's login calls. */
export function loginLane(tenantId: string): string {
  return `login:${tenantId}`;
}

export async function applyLoginState(
  deps: { gateway: Auth0Gateway; tenantId: string; binding: TenantAuth0Binding },
  desired: DesiredState, auth0UserId: string, loginOrg: { id: string; name: string } | null, firstLogin = false,
): Promise<LoginSyncResult> {
  const { gateway } = deps;
  // Login calls take their own rate-budget lane (the budget serves lanes round-robin), so a login never
  // waits behind the worker's backlog for the same tenant.
  const tenantId = loginLane(deps.tenantId);
  const known = new Map<string, string>();
  if (deps.binding.organization.id) known.set(deps.binding.organization.name, deps.binding.organization.id);
  if (loginOrg) known.set(loginOrg.name, loginOrg.id);
  const homeId = known.get(deps.binding.organization.name);
  // The org of this login is the binding org: its id lets the planner skip `ensureOrganization`.
  const binding = homeId && !deps.binding.organization.id ? { ...deps.binding, organization: { ...deps.binding.organization, id: homeId } } : deps.binding;
  const ctx: ExecutionContext = {
    gateway,
    tenantId,
    binding,
    addMember: (orgId, userId) => callAuth0(() => gateway.addMembers(orgId, [userId], tenantId)),
    knownOrganizations: known,
    rememberOrganization: (name, id) => known.set(name, id),
  };
  const snapshot = firstLogin
    ? { user: { user_id: auth0UserId, blocked: false }, organizations: [], tenantRoleNames: [] }
    : await readSnapshot(ctx, auth0UserId, desired);
  if (!snapshot.user) return { actions: [], orgId: known.get(binding.organization.name) };
  const actions = planUserSync(desired, snapshot, binding).filter((a) => LOGIN_ACTIONS.has(a.type));
  await executePlan(ctx, actions, auth0UserId);
  return { actions, orgId: known.get(binding.organization.name) };
}
