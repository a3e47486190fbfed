import type { Kysely, Transaction } from 'kysely';
import type { AdminCredentialKind, AdminTokenRow, Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface NewAdminToken {
  readonly id: string;
  /** null: an operator token (every tenant). */
  readonly tenantId: string | null;
  readonly label: string;
  readonly hash: Buffer;
  readonly prefix: string;
  readonly expiresAt: Date | null;
  /** Default `token`. */
  readonly kind?: AdminCredentialKind;
}

export async function insertAdminToken(db: Db, token: NewAdminToken): Promise<AdminTokenRow> {
  return db
    .insertInto('admin_tokens')
    .values({
      id: token.id, tenant_id: token.tenantId, label: token.label, token_hash: token.hash, token_prefix: token.prefix,
      expires_at: token.expiresAt, revoked_at: null, last_used_at: null, kind: token.kind ?? 'token',
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The token with this hash and the name of its tenant (null for operator tokens); revoked ones too. */
export async function findAdminTokenByHash(db: Db, hash: Buffer): Promise<(AdminTokenRow & { tenant_name: string | null }) | undefined> {
  return db
    .selectFrom('admin_tokens as a')
    .leftJoin('tenants as t', 't.id', 'a.tenant_id')
    .selectAll('a')
    .select('t.name as tenant_name')
    .where('a.token_hash', '=', hash)
    .executeTakeFirst();
}

/** Every admin credential of one kind (default: API tokens) with its tenant's name, or only those of one tenant. */
export async function listAdminTokens(db: Db, tenantId?: string, kind: AdminCredentialKind = 'token'): Promise<(AdminTokenRow & { tenant_name: string | null })[]> {
  let query = db.selectFrom('admin_tokens as a').leftJoin('tenants as t', 't.id', 'a.tenant_id').selectAll('a').select('t.name as tenant_name').where('a.kind', '=', kind);
  if (tenantId) query = query.where('a.tenant_id', '=', tenantId);
  return query.orderBy('a.created_at').execute();
}

/**
 * Marks the credential revoked (idempotent); undefined when there is no such credential of that kind (in
 * that tenant, when `tenantId` is given: a tenant's page must not revoke another tenant's link).
 */
export async function revokeAdminToken(db: Db, id: string, kind: AdminCredentialKind = 'token', tenantId?: string): Promise<(AdminTokenRow & { tenant_name: string | null }) | undefined> {
  let update = db
    .updateTable('admin_tokens')
    .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(new Date())) }))
    .where('id', '=', id)
    .where('kind', '=', kind);
  if (tenantId !== undefined) update = update.where('tenant_id', '=', tenantId);
  const row = await update
    .returningAll()
    .executeTakeFirst();
  if (!row) return undefined;
  const tenant = row.tenant_id ? await db.selectFrom('tenants').select('name').where('id', '=', row.tenant_id).executeTakeFirst() : undefined;
  return { ...row, tenant_name: tenant?.name ?? null };
}

export async function touchAdminToken(db: Db, id: string, now: Date): Promise<void> {
  await db.updateTable('admin_tokens').set({ last_used_at: now }).where('id', '=', id).execute();
}

/**
 * Spends a one-time sign-in code: marks it revoked in the same statement that checks it is unspent and
 * unexpired, so two browsers racing with one code get one session between them. True when it was good.
 */
export async function spendSignInCode(db: Db, hash: Buffer, now: Date): Promise<boolean> {
  const row = await db
    .updateTable('admin_tokens')
    .set({ revoked_at: now, last_used_at: now })
    .where('token_hash', '=', hash)
    .where('kind', '=', 'sign-in')
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}
