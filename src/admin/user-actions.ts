/**
 * What a customer's (delegated) admin can do to one directory user on top of what the IdP says: block,
 * remove from the organization, undo either, and erase (GDPR Art. 17). The IdP stays the source of truth
 * for everything else; an override is stored beside the directory (user_admin_overrides) and applied by
 * the sync's desired state, so later IdP changes and reconciles do not undo it.
 */
import type { Kysely, Transaction } from 'kysely';
import { deleteOverride, findOverride, forgetUser, isCleared, upsertOverride } from '../db/overrides.js';
import type { Database } from '../db/schema.js';
import { findUserSync, isBound, markUsersChanged } from '../db/sync.js';
import { deleteUser, findUser } from '../db/users.js';
import { isResourceId } from '../scim/users.js';
import type { DirectoryEvents } from '../sync/events.js';

/** The reversible admin actions; `remove-from-org` / `add-to-org` concern every org this tenant grants. */
export type UserAction = 'block' | 'unblock' | 'remove-from-org' | 'add-to-org';

/** A refused admin action: 404 no such directory user, 409 the user is being deprovisioned or erased. */
export class UserActionError extends Error {
  override name = 'UserActionError';
  constructor(message: string, readonly status: 404 | 409) {
    super(message);
  }
}

/** The flag each action sets; the other flag keeps its value. */
const CHANGES: Readonly<Record<UserAction, { blocked?: boolean; removedFromOrg?: boolean }>> = {
  block: { blocked: true },
  unblock: { blocked: false },
  'remove-from-org': { removedFromOrg: true },
  'add-to-org': { removedFromOrg: false },
};

/** The tombstone of an erased user: the deletion needs only the Auth0 user id its sync row holds. */
const ERASED_TOMBSTONE: Readonly<Record<string, unknown>> = { erased: true };

function notFound(userId: string): UserActionError {
  return new UserActionError(`User ${userId} not found`, 404);
}

/** The events of a bound tenant, or undefined: an unbound tenant's changes enqueue nothing. */
async function boundEvents(trx: Transaction<Database>, events: DirectoryEvents | undefined, tenantId: string): Promise<DirectoryEvents | undefined> {
  return events && (await events.isBound(trx, tenantId)) ? events : undefined;
}

/**
 * Records the override and enqueues the user's sync in one transaction. Idempotent: an action that
 * changes nothing (unblocking a user no admin blocked, blocking twice) writes and enqueues nothing. An
 * override left with no flag set is deleted. Unbound tenant (no `events`, or not bound): recorded only.
 */
export async function applyUserAction(
  db: Kysely<Database>, events: DirectoryEvents | undefined, tenantId: string, userId: string, action: UserAction, actor: string, reason?: string,
): Promise<{ override: { blocked: boolean; removedFromOrg: boolean }; queued: boolean }> {
  if (!isResourceId(userId)) throw notFound(userId);
  return db.transaction().execute(async (trx) => {
    // The row lock serialises admin actions on one user with each other and with a SCIM DELETE.
    const user = await findUser(trx, tenantId, userId, { groups: false, forUpdate: true });
    if (!user) {
      const sync = await findUserSync(trx, tenantId, userId);
      if (!sync?.tombstone) throw notFound(userId);
      throw new UserActionError(`User ${userId} was deleted by the identity provider; the tenant's deprovision policy applies (erase it to remove it from Auth0)`, 409);
    }
    const current = await findOverride(trx, tenantId, userId, { forUpdate: true });
    const now = { blocked: current?.blocked ?? false, removedFromOrg: current?.removedFromOrg ?? false };
    const change = CHANGES[action];
    const next = { ...now, ...change };
    if (next.blocked === now.blocked && next.removedFromOrg === now.removedFromOrg) return { override: now, queued: false };

    const saved = await upsertOverride(trx, tenantId, userId, { ...change, actor, reason: reason ?? null });
    if (isCleared(saved)) await deleteOverride(trx, tenantId, userId, { onlyIfCleared: true });
    const bound = await boundEvents(trx, events, tenantId);
    if (bound) await bound.usersChanged(trx, tenantId, [userId]);
    return { override: { blocked: saved.blocked, removedFromOrg: saved.removedFromOrg }, queued: bound !== undefined };
  });
}

/**
 * GDPR erasure: deletes the directory user as a SCIM DELETE does (the row and its group memberships, in
 * the statement the resource-count triggers see) and marks the override `erase`, so the sync deletes the
 * Auth0 user whatever the deprovision policy says; once it has, the sync forgets the user's tombstone,
 * applied state, plan and override (src/sync/sync-user.ts). A user the IdP already deleted can be erased
 * too. Unbound tenant: nothing to do in Auth0, so every row of the user goes at once. Bound tenant but no
 * `events`: recorded and left pending (`queued: false`) for the next sync of the user to finish.
 */
export async function eraseUser(
  db: Kysely<Database>, events: DirectoryEvents | undefined, tenantId: string, userId: string, actor: string,
): Promise<{ queued: boolean }> {
  if (!isResourceId(userId)) throw notFound(userId);
  return db.transaction().execute(async (trx) => {
    const deleted = await deleteUser(trx, tenantId, userId);
    if (!deleted) {
      const sync = await findUserSync(trx, tenantId, userId);
      if (!sync?.tombstone) throw notFound(userId);
    }
    // Bound is asked of the database, not of `events`: forgetting a bound tenant's user without deleting
    // its Auth0 user would leave an account nobody can trace back to the erasure.
    if (!(await isBound(trx, tenantId))) {
      await forgetUser(trx, tenantId, userId);
      return { queued: false };
    }
    await upsertOverride(trx, tenantId, userId, { erase: true, actor, reason: 'GDPR erasure' });
    // Replaces any earlier tombstone (userName, email): nothing personal is copied into the sync's records.
    if (events) {
      await events.userDeleted(trx, tenantId, userId, { ...ERASED_TOMBSTONE });
      return { queued: true };
    }
    // No queue to hand the job to: the user is left pending, and the next sync of it completes the erasure.
    await markUsersChanged(trx, tenantId, [userId], { ...ERASED_TOMBSTONE });
    return { queued: false };
  });
}
