import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface AuditEntry {
  readonly id: string;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string | null;
  readonly detail: Record<string, unknown>;
}

export async function insertAudit(
  db: Db, entry: { tenantId: string; id: string; actor: string; action: string; target: string | null; detail: Record<string, unknown> },
): Promise<void> {
  await db.insertInto('admin_audit')
    .values({ tenant_id: entry.tenantId, id: entry.id, actor: entry.actor, action: entry.action, target: entry.target, detail: JSON.stringify(entry.detail) })
    .execute();
}

/** The newest entries first; `before` is the id of the last entry of the previous page (ids are time-ordered UUIDv7). */
export async function listAudit(db: Db, tenantId: string, limit: number, before?: string): Promise<AuditEntry[]> {
  let query = db.selectFrom('admin_audit').selectAll().where('tenant_id', '=', tenantId);
  if (before) query = query.where('id', '<', before);
  const rows = await query.orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({ id: r.id, at: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, detail: r.detail }));
}
