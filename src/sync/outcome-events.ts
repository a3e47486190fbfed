/**
 * The Auth0 outcomes of a sync run as events (docs/events.md): `user.provisioned` when the user's access
 * in Auth0 came to be or changed (first provisioning, another Auth0 user, other organizations or roles,
 * unblocked), `user.deprovisioned` when it ended (blocked, removed from the organization, deleted or erased),
 * and `user.sync_failed` for the first failure of a streak (retries of the same failure say nothing new).
 * A run that changed nothing a product would store (a phone number synced to the profile) writes none.
 */
import type { NewEvent } from '../db/events.js';
import type { DeprovisionPolicy, DesiredState, DirectoryUser } from './types.js';

interface AppliedState {
  readonly blocked?: boolean;
  readonly organizations?: readonly { name: string; roles: readonly string[] }[];
  readonly tenantRoles?: readonly string[];
}

/** What the previous run left (the `user_sync` row before this run). */
export interface PreviousSync {
  readonly auth0UserId: string | null;
  readonly applied: AppliedState | null;
  readonly attempts: number;
}

/** What the tenant's deprovision policy did to the Auth0 user of a user deleted in the directory. */
const HOW: Record<DeprovisionPolicy, string> = { block: 'blocked', 'remove-from-org': 'removed-from-organization', delete: 'deleted' };

function userRef(user: DirectoryUser) {
  return { id: user.id, userName: user.userName, externalId: user.externalId, email: user.email };
}

function accessKey(applied: AppliedState | null): string {
  if (!applied) return '';
  return JSON.stringify([applied.blocked === true, (applied.organizations ?? []).map((o) => [o.name, [...o.roles].sort()]), [...(applied.tenantRoles ?? [])].sort()]);
}

/** Events of a run that reached Auth0 and was recorded as `synced` or `deleted`. */
export function outcomeEvents(
  tenantId: string, user: DirectoryUser, desired: DesiredState, previous: PreviousSync | undefined,
  outcome: { status: string; auth0UserId: string | null; applied: AppliedState; organizationIds: ReadonlyMap<string, string>; deprovision: DeprovisionPolicy },
): NewEvent[] {
  const hadAccess = previous?.applied != null && previous.applied.blocked !== true;
  if (user.deleted || outcome.status === 'deleted') {
    return hadAccess || previous?.auth0UserId
      ? [{ tenantId, type: 'user.deprovisioned', subject: user.id, data: { user: userRef(user), auth0UserId: previous?.auth0UserId ?? outcome.auth0UserId, how: HOW[outcome.deprovision], reason: 'deleted in the directory' } }]
      : [];
  }
  if (outcome.status !== 'synced' || !outcome.auth0UserId) return [];
  if (desired.blocked) {
    return hadAccess
      ? [{ tenantId, type: 'user.deprovisioned', subject: user.id, data: { user: userRef(user), auth0UserId: outcome.auth0UserId, how: 'blocked', reason: user.override?.blocked ? 'blocked by an admin' : 'deactivated in the directory' } }]
      : [];
  }
  if (previous?.auth0UserId === outcome.auth0UserId && accessKey(previous.applied) === accessKey(outcome.applied)) return [];
  // Out of every organization while still an active user (an admin's removal): access ended all the same.
  if ((outcome.applied.organizations ?? []).length === 0 && (previous?.applied?.organizations ?? []).length > 0) {
    return hadAccess
      ? [{ tenantId, type: 'user.deprovisioned', subject: user.id, data: { user: userRef(user), auth0UserId: outcome.auth0UserId, how: 'removed-from-organization', reason: user.override?.removedFromOrg ? 'removed from the organization by an admin' : 'no longer in any organization' } }]
      : [];
  }
  const organizations = (outcome.applied.organizations ?? []).map((o) => ({ id: outcome.organizationIds.get(o.name) ?? null, name: o.name, roles: [...o.roles] }));
  const home = organizations[0];
  return [{
    tenantId, type: 'user.provisioned', subject: user.id,
    data: {
      user: userRef(user),
      auth0UserId: outcome.auth0UserId,
      organization: home ? { id: home.id, name: home.name } : null,
      orgRoles: home?.roles ?? [],
      tenantRoles: [...(outcome.applied.tenantRoles ?? [])],
      ...(organizations.length > 1 ? { organizations } : {}),
    },
  }];
}

/** `user.sync_failed` for the first failed run of a streak. */
export function failureEvents(tenantId: string, user: DirectoryUser, previous: PreviousSync | undefined, error: string): NewEvent[] {
  if ((previous?.attempts ?? 0) > 0) return [];
  return [{ tenantId, type: 'user.sync_failed', subject: user.id, data: { user: userRef(user), auth0UserId: previous?.auth0UserId ?? null, error: error.slice(0, 500) } }];
}

/** An erasure carried out: the user is gone from Auth0 (or from this tenant's organizations). */
export function erasureEvents(tenantId: string, user: DirectoryUser, auth0UserId: string | null): NewEvent[] {
  return [{ tenantId, type: 'user.deprovisioned', subject: user.id, data: { user: userRef(user), auth0UserId, how: 'erased', reason: 'erased by an admin' } }];
}
