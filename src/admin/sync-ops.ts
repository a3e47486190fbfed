import type { Kysely } from 'kysely';
import type { Auth0Gateway } from '../auth0/gateway.js';
import type { Database } from '../db/schema.js';
import { releaseHolds, retryFailed } from '../db/sync.js';
import type { SyncQueue } from '../sync/queue.js';
import { findDrift, repairDrift } from '../sync/reconcile.js';

/** Confirms the deprovisionings held by the mass-deprovisioning guard: they sync without the guard. */
export async function releaseHeldDeprovisions(db: Kysely<Database>, queue: SyncQueue, tenantId: string): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    const ids = await releaseHolds(trx, tenantId);
    await queue.enqueue(trx, tenantId, ids);
    return ids;
  });
}

/** Queues the tenant's failed users (or those of `userIds`) again; returns the ids queued. */
export async function retryFailedSyncs(db: Kysely<Database>, queue: SyncQueue, tenantId: string, userIds?: readonly string[]): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    const ids = await retryFailed(trx, tenantId, userIds);
    await queue.enqueue(trx, tenantId, ids);
    return ids;
  });
}

export interface DriftReport {
  readonly userId: string;
  readonly actions: { type: string; reason: string }[];
}

/** Compares Auth0 with the desired state of every user of the tenant; queues the repairs unless `dryRun`. */
export async function reconcileTenant(
  db: Kysely<Database>, gateway: Auth0Gateway, queue: SyncQueue | undefined, tenantId: string, dryRun: boolean,
): Promise<DriftReport[]> {
  const drift = await findDrift(db, gateway, tenantId);
  if (!dryRun && drift.length > 0) {
    if (!queue) throw new Error('reconcile needs the sync queue to queue repairs');
    await repairDrift(db, queue, tenantId, drift);
  }
  return drift.map((d) => ({ userId: d.userId, actions: d.actions.map((a) => ({ type: a.type, reason: a.reason })) }));
}
