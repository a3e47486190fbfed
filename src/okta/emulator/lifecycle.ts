/**
 * Okta's user status transitions for the lifecycle operations the emulator serves
 * (developer.okta.com/docs/reference/api/users, "User status" and "Lifecycle operations"):
 * - create: `activate=false` → STAGED; activated with a password or as a federated user → ACTIVE;
 *   activated without credentials → PROVISIONED (the user still has to set a password).
 * - activate: from STAGED or DEPROVISIONED, to ACTIVE or PROVISIONED as above; on ACTIVE 403 E0000016.
 * - reactivate: PROVISIONED only (restarts the activation flow; the status stays PROVISIONED).
 * - deactivate: any status but DEPROVISIONED → DEPROVISIONED.
 * - delete: a user not yet DEPROVISIONED is deactivated; a DEPROVISIONED one is deleted for good.
 * Every other transition is 403 E0000038.
 */
import { alreadyActive, invalidStatusTransition } from './errors.js';
import type { OktaUserRecord, OktaUserStatus } from './state.js';

type Credentials = Pick<OktaUserRecord, 'hasPassword' | 'federated'>;

function activatedStatus(user: Credentials): OktaUserStatus {
  return user.hasPassword || user.federated ? 'ACTIVE' : 'PROVISIONED';
}

/** Status of a new user (`POST /api/v1/users?activate=`). */
export function statusOnCreate(activate: boolean, user: Credentials): OktaUserStatus {
  return activate ? activatedStatus(user) : 'STAGED';
}

/** Status after `lifecycle/activate`, or the error Okta answers. */
export function statusAfterActivate(user: Credentials & { status: OktaUserStatus }): OktaUserStatus {
  if (user.status === 'ACTIVE') throw alreadyActive();
  if (user.status !== 'STAGED' && user.status !== 'DEPROVISIONED') throw invalidStatusTransition();
  return activatedStatus(user);
}

/** Status after `lifecycle/reactivate`, or the error Okta answers. */
export function statusAfterReactivate(status: OktaUserStatus): OktaUserStatus {
  if (status !== 'PROVISIONED') throw invalidStatusTransition();
  return 'PROVISIONED';
}

/** Status after `lifecycle/deactivate`, or the error Okta answers. */
export function statusAfterDeactivate(status: OktaUserStatus): OktaUserStatus {
  if (status === 'DEPROVISIONED') throw invalidStatusTransition();
  return 'DEPROVISIONED';
}

/** What `DELETE /api/v1/users/{id}` does to a user in `status`. */
export function deleteEffect(status: OktaUserStatus): 'deactivate' | 'delete' {
  return status === 'DEPROVISIONED' ? 'delete' : 'deactivate';
}
