import type { Kysely, Transaction } from 'kysely';
import type { Database, ScimTokenRow } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface NewToken {
  readonly tenantId: string;
  readonly id: string;
  readonly label: string;
  readonly hash: Buffer;
  readonly prefix: string;
  readonly scopes: readonly string[];
  readonly expiresAt: Date | null;
}

export async function insertToken(db: Db, token: NewToken): Promise<ScimTokenRow> {
  return db
    .insertInto('scim_tokens')
    .values({
      tenant_id: token.tenantId,
      id: token.id,
      label: token.label,
      token_hash: token.hash,
      token_prefix: token.prefix,
      scopes: [...token.scopes],
      expires_at: token.expiresAt,
      revoked_at: null,
      last_used_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The token with this hash and the name of its tenant; revoked and expired ones too (the caller decides). */
export async function findTokenByHash(
  db: Db,
  hash: Buffer,
): Promise<(ScimTokenRow & { tenant_name: string; tenant_settings: Record<string, unknown> }) | undefined> {
  return db
    .selectFrom('scim_tokens as t')
    .innerJoin('tenants as n', 'n.id', 't.tenant_id')
    .selectAll('t')
    .select(['n.name as tenant_name', 'n.settings as tenant_settings'])
    .where('t.token_hash', '=', hash)
    .executeTakeFirst();
}

export async function listTokens(db: Db, tenantId: string): Promise<ScimTokenRow[]> {
  return db.selectFrom('scim_tokens').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').execute();
}

/** Marks a token revoked; returns false when the tenant has no such token. Idempotent. */
export async function revokeToken(db: Db, tenantId: string, id: string): Promise<ScimTokenRow | undefined> {
  return db
    .updateTable('scim_tokens')
    .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(new Date())) }))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Records use at most once per interval per token, so authentication does not write on every request. */
export async function touchToken(db: Db, tenantId: string, id: string, now: Date): Promise<void> {
  await db
    .updateTable('scim_tokens')
    .set({ last_used_at: now })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

/** Ends a token's life at `at` unless it already ends sooner (rotation with an overlap window). */
export async function expireTokenBy(db: Db, tenantId: string, id: string, at: Date): Promise<ScimTokenRow | undefined> {
  return db
    .updateTable('scim_tokens')
    .set((eb) => ({ expires_at: eb.fn('least', [eb.fn.coalesce('expires_at', eb.val(at)), eb.val(at)]) }))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export async function findToken(db: Db, tenantId: string, id: string): Promise<ScimTokenRow | undefined> {
  return db.selectFrom('scim_tokens').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}
