import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Database, ScimTokenRow } from '../db/schema.js';
import * as repo from '../db/tokens.js';

/** Per-resource read/write scopes a SCIM token can carry. */
export const SCIM_SCOPES = ['users:read', 'users:write', 'groups:read', 'groups:write'] as const;
export type ScimScope = (typeof SCIM_SCOPES)[number];

/** Tokens are `prv_` + 256 random bits: long enough that a plain SHA-256 is a safe stored form. */
const TOKEN_PREFIX = 'prv_';

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export class TokenInputError extends Error {
  override name = 'TokenInputError';
}

export function parseScopes(input: readonly string[] | undefined): ScimScope[] {
  if (!input || input.length === 0) return [...SCIM_SCOPES];
  const scopes = input.flatMap((s) => s.split(/[,\s]+/)).filter((s) => s !== '');
  for (const s of scopes) {
    if (!(SCIM_SCOPES as readonly string[]).includes(s)) {
      throw new TokenInputError(`unknown scope "${s}"; known scopes: ${SCIM_SCOPES.join(', ')}`);
    }
  }
  return [...new Set(scopes)] as ScimScope[];
}

const MAX_LIFETIME_MS = 10 * 366 * 86_400_000;

/** Parses `90d`, `12h`, `30m` (relative) or an ISO date into an absolute expiry (at most 10 years ahead). */
export function parseExpiry(input: string | undefined, now = new Date()): Date | null {
  if (input === undefined || input === '' || input === 'never') return null;
  const relative = /^(\d+)\s*([dhm])$/.exec(input.trim());
  let at: Date;
  if (relative) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[relative[2] as 'd' | 'h' | 'm'];
    at = new Date(now.getTime() + Number(relative[1]) * unit);
  } else {
    at = new Date(input);
    if (Number.isNaN(at.getTime())) throw new TokenInputError(`expiry "${input}" is neither a duration (90d, 12h, 30m) nor a date`);
    if (at.getTime() <= now.getTime()) throw new TokenInputError(`expiry ${at.toISOString()} is in the past`);
  }
  if (!(at.getTime() <= now.getTime() + MAX_LIFETIME_MS)) throw new TokenInputError(`expiry "${input}" is more than 10 years away; use "never" for a token without expiry`);
  return at;
}

/** A token as shown in listings: never the secret, never the hash. */
export interface TokenInfo {
  readonly id: string;
  readonly label: string;
  readonly prefix: string;
  readonly scopes: string[];
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
  readonly status: 'active' | 'expired' | 'revoked';
}

/** The columns SCIM and admin tokens share. */
interface StoredSecretToken {
  id: string;
  label: string;
  token_prefix: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

/** What a listing shows of any stored token (SCIM or admin): never the secret, never the hash. */
export function listedToken(row: StoredSecretToken, now = new Date()): Omit<TokenInfo, 'scopes'> {
  return {
    id: row.id,
    label: row.label,
    prefix: row.token_prefix,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    status: row.revoked_at ? 'revoked' : row.expires_at && row.expires_at <= now ? 'expired' : 'active',
  };
}

export function tokenInfo(row: ScimTokenRow, now = new Date()): TokenInfo {
  return { ...listedToken(row, now), scopes: row.scopes };
}

/**
 * A new bearer secret: `prefix` + 256 random bits (long enough that a plain SHA-256 is a safe stored form),
 * its hash, and the first characters shown in listings to recognise it.
 */
export function newSecretToken(prefix: string): { token: string; hash: Buffer; displayPrefix: string } {
  const token = prefix + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token), displayPrefix: token.slice(0, prefix.length + 6) };
}

export interface IssueOptions {
  readonly label?: string;
  readonly scopes?: readonly string[];
  readonly expiresIn?: string;
}

/** Issues a token for the tenant. The secret is returned once and only its hash is stored. */
export async function issueToken(db: Kysely<Database>, tenantId: string, options: IssueOptions = {}): Promise<{ token: string; info: TokenInfo }> {
  const scopes = parseScopes(options.scopes);
  const expiresAt = parseExpiry(options.expiresIn);
  const { token, hash, displayPrefix } = newSecretToken(TOKEN_PREFIX);
  const row = await repo.insertToken(db, {
    tenantId,
    id: uuidv7(),
    label: options.label ?? 'scim',
    hash,
    prefix: displayPrefix,
    scopes,
    expiresAt,
  });
  return { token, info: tokenInfo(row) };
}
