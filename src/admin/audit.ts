import type { Kysely, Transaction } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from '../db/schema.js';
import type { AdminPrincipal } from './auth.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface AuditEntry {
  readonly id: string;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string | null;
  readonly detail: Record<string, unknown>;
}

/**
 * Records an admin write of a tenant (who did what to whom). Written in the write's transaction where
 * there is one, so the trail never claims an action that did not happen. Never holds secrets.
 */
export async function recordAudit(
  db: Db, tenantId: string, principal: AdminPrincipal, action: string, target: string | null, detail: Record<string, unknown> = {},
): Promise<void> {
  await db.insertInto('admin_audit')
    .values({ tenant_id: tenantId, id: uuidv7(), actor: principal.actor, action, target, detail: JSON.stringify(detail) })
    .execute();
}

/** The newest entries first; `before` is the id of the last entry of the previous page (ids are time-ordered UUIDv7). */
export async function listAudit(db: Db, tenantId: string, limit: number, before?: string): Promise<AuditEntry[]> {
  let query = db.selectFrom('admin_audit').selectAll().where('tenant_id', '=', tenantId);
  if (before) query = query.where('id', '<', before);
  const rows = await query.orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({ id: r.id, at: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, detail: r.detail }));
}
