import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type { OktaQueue } from './queue.js';

/**
 * Queues a user's Okta mirror in the transaction that records its Auth0 outcome, when the tenant mirrors
 * into Okta. The tenant row is read `for key share`: binding Okta takes it `for update`, so a binding and
 * an Auth0 outcome are ordered — either the outcome sees the new binding and queues the user, or the
 * binding (src/okta/bind.ts) sees the committed outcome among the users it queues. Never neither.
 */
export async function enqueueMirrorIfBound(trx: Transaction<Database>, queue: OktaQueue, tenantId: string, userId: string): Promise<void> {
  // Two statements: waiting for the lock does not renew a statement's snapshot, so a binding that commits
  // while the lock is awaited is seen only by the next statement (READ COMMITTED).
  await sql`select 1 from tenants where id = ${tenantId} for key share`.execute(trx);
  const { rows } = await sql<{ bound: boolean }>`select exists (select 1 from tenant_okta_bindings where tenant_id = ${tenantId}) as bound`.execute(trx);
  if (rows[0]?.bound) await queue.enqueue(trx, tenantId, [userId]);
}
