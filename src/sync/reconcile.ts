import type { Kysely } from 'kysely';
import type { Auth0Gateway } from '../auth0/gateway.js';
import { allUserIds } from '../db/directory.js';
import type { Database } from '../db/schema.js';
import { markUsersChanged } from '../db/sync.js';
import type { SyncQueue } from './queue.js';
import { syncUser } from './sync-user.js';
import type { SyncAction } from './types.js';

/** One user's drift: what Auth0 lacks or has too much, as the actions that would repair it. */
export interface Drift {
  readonly userId: string;
  readonly actions: readonly SyncAction[];
}

/**
 * Compares Auth0 with the desired state of every directory user of a tenant (drift made in the Auth0
 * dashboard, missed events) and returns the repair plan; nothing is changed. `repair` enqueues the
 * drifted users, so the worker applies the plan under the normal budget, retries and guard.
 */
export async function findDrift(db: Kysely<Database>, gateway: Auth0Gateway, tenantId: string, onProgress?: (done: number, total: number) => void): Promise<Drift[]> {
  const ids = await allUserIds(db, tenantId);
  const drift: Drift[] = [];
  let done = 0;
  for (const userId of ids) {
    const result = await syncUser({ db, gateway, dryRun: true, addMember: async () => undefined }, tenantId, userId);
    const actions = result.actions.filter((a) => a.type !== 'awaitFirstLogin');
    if (actions.length > 0) drift.push({ userId, actions });
    onProgress?.(++done, ids.length);
  }
  return drift;
}

export async function repairDrift(db: Kysely<Database>, queue: SyncQueue, tenantId: string, drift: readonly Drift[]): Promise<void> {
  const ids = drift.map((d) => d.userId);
  await db.transaction().execute(async (trx) => {
    await markUsersChanged(trx, tenantId, ids);
    await queue.enqueue(trx, tenantId, ids);
  });
}
