import { timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { hashToken, type ScimScope } from '../admin/tokens.js';
import type { Database } from '../db/schema.js';
import { findTokenByHash, touchToken } from '../db/tokens.js';
import { SCIM_DIALECTS, type ScimDialectSetting } from './compat/dialect.js';
import { ScimError } from './errors.js';

/** Who is calling: the tenant the token belongs to and what it may do. */
export interface ScimPrincipal {
  readonly tenantId: string;
  readonly tenantName: string;
  readonly tokenId: string;
  readonly scopes: ReadonlySet<string>;
  /** The tenant's IdP dialect setting (`auto` unless an operator pinned one). */
  readonly dialect: ScimDialectSetting;
}

interface CachedToken {
  readonly principal: ScimPrincipal | null;
  readonly hash: Buffer;
  readonly expiresAt: number | null;
  readonly cachedUntil: number;
}

const MAX_CACHE_ENTRIES = 10_000;
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Verifies SCIM bearer tokens. Tokens are looked up by their SHA-256 and the stored hash is compared in
 * constant time. Verified (and unknown) tokens are cached for `cacheMs` so a busy IdP costs no extra
 * query per request; a revocation made by this process clears the cache at once, one made elsewhere
 * (another replica, the CLI) takes effect within `cacheMs`.
 */
export class TokenVerifier {
  private readonly cache = new Map<string, CachedToken>();
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly cacheMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves the principal for `tenantName`, or throws a 401 SCIM error. */
  async verify(tenantName: string, authorization: string | undefined): Promise<ScimPrincipal> {
    return this.verifyCached(tenantName, authorization) ?? this.verifyLoaded(tenantName, authorization);
  }

  /**
   * The synchronous fast path: the principal when the token is in the cache (or a thrown 401),
   * undefined when the database must be asked. Lets the request hook avoid a promise per request.
   */
  verifyCached(tenantName: string, authorization: string | undefined): ScimPrincipal | undefined {
    const token = bearer(authorization);
    if (!token) throw ScimError.unauthorized();
    const hash = hashToken(token);
    const now = this.now();
    const entry = this.cache.get(hash.toString('base64'));
    if (!entry || entry.cachedUntil <= now) return undefined;
    return this.check(entry, hash, tenantName, now);
  }

  private async verifyLoaded(tenantName: string, authorization: string | undefined): Promise<ScimPrincipal> {
    const hash = hashToken(bearer(authorization) ?? '');
    const now = this.now();
    const entry = await this.load(hash, now);
    if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
    this.cache.set(hash.toString('base64'), entry);
    return this.check(entry, hash, tenantName, now);
  }

  private check(entry: CachedToken, hash: Buffer, tenantName: string, now: number): ScimPrincipal {
    const { principal } = entry;
    // Constant-time comparison of the stored hash, and the same 401 for unknown, expired, revoked and
    // other-tenant tokens so a caller learns nothing about which it was.
    if (!principal || !timingSafeEqual(entry.hash, hash) || (entry.expiresAt !== null && entry.expiresAt <= now) || principal.tenantName !== tenantName) {
      throw ScimError.unauthorized('The bearer token is not valid for this tenant');
    }
    this.touch(principal, now);
    return principal;
  }

  /** Forgets every cached token (after a revocation in this process). */
  invalidate(): void {
    this.cache.clear();
  }

  private async load(hash: Buffer, now: number): Promise<CachedToken> {
    const row = await findTokenByHash(this.db, hash);
    const cachedUntil = now + this.cacheMs;
    if (!row || row.revoked_at) return { principal: null, hash, expiresAt: null, cachedUntil };
    return {
      principal: {
        tenantId: row.tenant_id,
        tenantName: row.tenant_name,
        tokenId: row.id,
        scopes: new Set(row.scopes),
        dialect: dialectSetting(row.tenant_settings.scimDialect),
      },
      hash: row.token_hash,
      expiresAt: row.expires_at?.getTime() ?? null,
      cachedUntil,
    };
  }

  /** Records `last_used_at` at most once a minute per token, off the request's critical path. */
  private touch(principal: ScimPrincipal, now: number): void {
    const last = this.touched.get(principal.tokenId) ?? 0;
    if (now - last < TOUCH_INTERVAL_MS) return;
    this.touched.set(principal.tokenId, now);
    touchToken(this.db, principal.tenantId, principal.tokenId, new Date(now)).catch(() => undefined);
  }
}

function dialectSetting(value: unknown): ScimDialectSetting {
  return typeof value === 'string' && (SCIM_DIALECTS as readonly string[]).includes(value) ? (value as ScimDialectSetting) : 'auto';
}

function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Throws 403 when the principal lacks `scope`. */
export function requireScope(principal: ScimPrincipal, scope: ScimScope): void {
  if (!principal.scopes.has(scope)) throw ScimError.forbidden(`This token lacks the "${scope}" scope`);
}
