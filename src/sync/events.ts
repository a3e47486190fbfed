import type { Kysely, Transaction } from 'kysely';
import { expandMembers, usersUnderGroups } from '../db/directory.js';
import type { Database } from '../db/schema.js';
import { isBound, markUsersChanged } from '../db/sync.js';
import type { SyncQueue } from './queue.js';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * What SCIM writes tell the sync, inside the write's transaction: which users' desired Auth0 state may
 * have changed. Unbound tenants (no Auth0 binding) cost one indexed lookup and enqueue nothing.
 */
export interface DirectoryEvents {
  /** True when the tenant syncs to Auth0 (checked before opening a transaction for a write). */
  isBound(db: Db, tenantId: string): Promise<boolean>;
  /**
   * What `isBound` last answered for the tenant in this process (undefined when never asked). For an
   * unbound answer only a hint for which path a write tries first (the write re-checks the binding in the
   * database); a bound answer is final, since bindings are not removed.
   */
  lastKnownBound?(tenantId: string): boolean | undefined;
  usersChanged(trx: Db, tenantId: string, userIds: readonly string[]): Promise<void>;
  /** The IdP deleted the user; the tombstone keeps what deprovisioning needs. */
  userDeleted(trx: Db, tenantId: string, userId: string, tombstone: Record<string, unknown>): Promise<void>;
  /** Members added/removed (users or nested groups), or the group itself changed (`wholeGroup`). */
  groupChanged(trx: Db, tenantId: string, change: { groupId: string; memberIds: readonly string[]; wholeGroup: boolean }): Promise<void>;
}

export function queueDirectoryEvents(queue: SyncQueue): DirectoryEvents {
  const enqueue = async (trx: Db, tenantId: string, userIds: readonly string[]) => {
    if (userIds.length === 0) return;
    await markUsersChanged(trx, tenantId, userIds);
    await queue.enqueue(trx, tenantId, userIds);
  };
  // Bounded: a process serving more tenants than this forgets them all and asks again.
  const known = new Map<string, boolean>();
  return {
    isBound: async (db, tenantId) => {
      // A binding is never removed (only with its tenant, whose writes end with it), so a tenant once seen
      // bound stays bound: its writes skip the check. One that was unbound is asked again every time.
      if (known.get(tenantId) === true) return true;
      const bound = await isBound(db, tenantId);
      if (known.size >= 10_000) known.clear();
      known.set(tenantId, bound);
      return bound;
    },
    lastKnownBound: (tenantId) => known.get(tenantId),
    usersChanged: enqueue,
    userDeleted: async (trx, tenantId, userId, tombstone) => {
      await markUsersChanged(trx, tenantId, [userId], tombstone);
      await queue.enqueue(trx, tenantId, [userId]);
    },
    groupChanged: async (trx, tenantId, change) => {
      // A rename or delete can change every member's roles (rules may match displayName); a membership
      // change only concerns the members added or removed, and everyone under a nested group among them.
      const affected = new Set(await expandMembers(trx, tenantId, change.memberIds));
      if (change.wholeGroup) for (const id of await usersUnderGroups(trx, tenantId, [change.groupId])) affected.add(id);
      await enqueue(trx, tenantId, [...affected]);
    },
  };
}
