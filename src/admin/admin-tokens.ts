import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import * as repo from '../db/admin-tokens.js';
import type { AdminTokenRow, Database } from '../db/schema.js';
import { hashToken, parseExpiry } from './tokens.js';

/**
 * Admin API tokens: `pva_` + 256 random bits, shown once, stored as SHA-256 (like SCIM tokens, but a
 * different prefix so a leaked one is recognisable and a SCIM token is never mistaken for one). An
 * operator token reaches every tenant; a delegated token only its own tenant.
 */
export const ADMIN_TOKEN_PREFIX = 'pva_';

export interface AdminTokenInfo {
  readonly id: string;
  readonly label: string;
  readonly prefix: string;
  /** `operator` for every tenant, else the tenant this delegated token is scoped to. */
  readonly scope: 'operator' | 'tenant';
  readonly tenant: string | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
  readonly status: 'active' | 'expired' | 'revoked';
}

export function adminTokenInfo(row: AdminTokenRow & { tenant_name: string | null }, now = new Date()): AdminTokenInfo {
  return {
    id: row.id,
    label: row.label,
    prefix: row.token_prefix,
    scope: row.tenant_id ? 'tenant' : 'operator',
    tenant: row.tenant_name,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    status: row.revoked_at ? 'revoked' : row.expires_at && row.expires_at <= now ? 'expired' : 'active',
  };
}

/** Issues an admin token; `tenant` scopes it to one tenant (a customer's delegated admin). */
export async function issueAdminToken(
  db: Kysely<Database>,
  options: { label?: string; tenant?: { id: string; name: string }; expiresIn?: string } = {},
): Promise<{ token: string; info: AdminTokenInfo }> {
  const expiresAt = parseExpiry(options.expiresIn);
  const token = ADMIN_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const row = await repo.insertAdminToken(db, {
    id: uuidv7(),
    tenantId: options.tenant?.id ?? null,
    label: options.label ?? (options.tenant ? 'org-admin' : 'operator'),
    hash: hashToken(token),
    prefix: token.slice(0, ADMIN_TOKEN_PREFIX.length + 6),
    expiresAt,
  });
  return { token, info: adminTokenInfo({ ...row, tenant_name: options.tenant?.name ?? null }) };
}
