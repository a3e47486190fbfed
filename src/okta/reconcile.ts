/**
 * `provisio reconcile --sink okta`: compares Okta with the desired state of every mirrored (or mirrorable)
 * user of a tenant — drift made in the Okta admin console, a user deleted there, a group membership
 * removed by hand — and returns the repair plan. Repairs are queued: the worker applies them under the
 * normal rate budget and retries. Their recorded `applied` state is cleared first, so the job reads Okta
 * instead of trusting what it last wrote.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { MirrorDeps, MirrorResult } from './mirror-user.js';
import type { OktaQueue } from './queue.js';

export interface OktaDrift {
  readonly userId: string;
  readonly actions: { readonly type: string; readonly reason: string }[];
}

/** Users the mirror covers: provisioned into Auth0, or linked to an Okta user. */
async function mirrorableUsers(db: Kysely<Database>, tenantId: string): Promise<string[]> {
  const { rows } = await sql<{ user_id: string }>`
    select user_id from user_sync where tenant_id = ${tenantId} and auth0_user_id is not null
    union select user_id from okta_mirror where tenant_id = ${tenantId} and okta_user_id is not null
    order by 1`.execute(db);
  return rows.map((r) => r.user_id);
}

export async function findOktaDrift(
  db: Kysely<Database>,
  mirror: (tenantId: string, userId: string, options: Pick<MirrorDeps, 'dryRun' | 'force'>) => Promise<MirrorResult>,
  tenantId: string,
  onProgress?: (done: number, total: number) => void,
): Promise<OktaDrift[]> {
  const ids = await mirrorableUsers(db, tenantId);
  const drift: OktaDrift[] = [];
  let done = 0;
  for (const userId of ids) {
    const result = await mirror(tenantId, userId, { dryRun: true, force: true });
    if (result.actions.length > 0) drift.push({ userId, actions: result.actions.map((a) => ({ type: a.type, reason: a.reason })) });
    onProgress?.(++done, ids.length);
  }
  return drift;
}

export async function repairOktaDrift(db: Kysely<Database>, queue: OktaQueue, tenantId: string, drift: readonly OktaDrift[]): Promise<void> {
  const ids = drift.map((d) => d.userId);
  if (ids.length === 0) return;
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('okta_mirror').set({ applied: null }).where('tenant_id', '=', tenantId).where('user_id', 'in', ids).execute();
    await queue.enqueue(trx, tenantId, ids);
  });
}
