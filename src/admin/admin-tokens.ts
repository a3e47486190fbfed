import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import * as repo from '../db/admin-tokens.js';
import type { AdminTokenRow, Database } from '../db/schema.js';
import { listedToken, newSecretToken, parseExpiry } from './tokens.js';

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
  return { ...listedToken(row, now), scope: row.tenant_id ? 'tenant' : 'operator', tenant: row.tenant_name };
}

/** Issues an admin token; `tenant` scopes it to one tenant (a customer's delegated admin). */
export async function issueAdminToken(
  db: Kysely<Database>,
  options: { label?: string; tenant?: { id: string; name: string }; expiresIn?: string } = {},
): Promise<{ token: string; info: AdminTokenInfo }> {
  const expiresAt = parseExpiry(options.expiresIn);
  const { token, hash, displayPrefix } = newSecretToken(ADMIN_TOKEN_PREFIX);
  const row = await repo.insertAdminToken(db, {
    id: uuidv7(),
    tenantId: options.tenant?.id ?? null,
    label: options.label ?? (options.tenant ? 'org-admin' : 'operator'),
    hash,
    prefix: displayPrefix,
    expiresAt,
  });
  return { token, info: adminTokenInfo({ ...row, tenant_name: options.tenant?.name ?? null }) };
}
