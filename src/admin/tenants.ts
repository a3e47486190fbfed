import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { isUniqueViolation } from '../db/errors.js';
import type { Database, TenantRow } from '../db/schema.js';
import * as repo from '../db/tenants.js';
import { issueToken, type IssueOptions, type TokenInfo } from './tokens.js';

/** Tenant names are URL slugs: they appear in `/scim/v2/<name>`. */
const NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A tenant operation the caller got wrong: `kind` tells the admin API which status to answer. */
export class TenantInputError extends Error {
  override name = 'TenantInputError';
  constructor(message: string, readonly kind: 'invalid' | 'not-found' | 'conflict' = 'invalid') {
    super(message);
  }
}

export interface TenantInfo {
  readonly id: string;
  readonly name: string;
  readonly displayName: string;
  readonly createdAt: string;
  /** The pinned IdP dialect (`auto`: recognised from each request). */
  readonly scimDialect: string;
}

export function tenantInfo(row: TenantRow): TenantInfo {
  const dialect = row.settings.scimDialect;
  return { id: row.id, name: row.name, displayName: row.display_name, createdAt: row.created_at.toISOString(), scimDialect: typeof dialect === 'string' ? dialect : 'auto' };
}

export function validateTenantName(name: string): void {
  if (!NAME.test(name)) {
    throw new TenantInputError(`tenant name "${name}" must be 1-63 lower-case letters, digits or dashes, not starting or ending with a dash`);
  }
}

/** Creates a tenant and its first SCIM token in one transaction; the token is returned once. */
export async function createTenant(
  db: Kysely<Database>,
  input: { name: string; displayName?: string; token?: IssueOptions },
): Promise<{ tenant: TenantInfo; token: string; tokenInfo: TokenInfo }> {
  validateTenantName(input.name);
  return db.transaction().execute(async (trx) => {
    let row: TenantRow;
    try {
      row = await repo.insertTenant(trx, { id: uuidv7(), name: input.name, displayName: input.displayName ?? input.name });
    } catch (err) {
      if (isUniqueViolation(err)) throw new TenantInputError(`tenant "${input.name}" already exists`, 'conflict');
      throw err;
    }
    const issued = await issueToken(trx, row.id, input.token);
    return { tenant: tenantInfo(row), token: issued.token, tokenInfo: issued.info };
  });
}

export async function requireTenant(db: Kysely<Database>, name: string): Promise<TenantRow> {
  const row = await repo.findTenantByName(db, name);
  if (!row) throw new TenantInputError(`no tenant named "${name}"`, 'not-found');
  return row;
}

/** The SCIM base URL an IdP is given for a tenant. */
export function scimBaseUrl(publicUrl: string, tenantName: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/scim/v2/${tenantName}`;
}
