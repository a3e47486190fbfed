/**
 * The short-lived HS256 token the Post-Login Action signs with `PROVISIO_SECRET` (action/post-login.js):
 * fixed `iss`/`aud`, `exp` at most a minute after `iat`, a `jti` remembered until the token expires (so a
 * captured request cannot be replayed), and `bsh`, the SHA-256 of the exact body (so a token cannot be
 * reused for other login facts).
 */
import { createHash } from 'node:crypto';

export const ACTION_TOKEN_ISSUER = 'auth0-action:provisio-post-login';
export const ACTION_TOKEN_AUDIENCE = 'provisio:post-login';
/** Longest accepted lifetime; the Action signs for 30 s (one Action run is at most 20 s, research/auth0.md §4.1). */
export const ACTION_TOKEN_MAX_AGE_SECONDS = 60;
/**
 * How far in the future `iat` may be (clock skew between Auth0 and us). Without it a token signed with a
 * future `iat` and an `exp` a minute later would be valid, and replayable once its `jti` left the cache.
 */
export const ACTION_TOKEN_CLOCK_SKEW_SECONDS = 60;

/** base64url SHA-256 of the raw body, as the Action computes it. */
export function bodyHash(raw: string): string {
  return createHash('sha256').update(raw, 'utf8').digest('base64url');
}

/** The claims we read after @fastify/jwt verified signature, algorithm, iss, aud and exp. */
export interface ActionTokenClaims {
  readonly jti: string;
  readonly exp: number;
  readonly iat: number;
  readonly bsh: string;
}

/** Narrows a verified payload; undefined when a required claim is missing, the lifetime is too long or `iat` is in the future. */
export function actionTokenClaims(payload: unknown, nowSeconds = Date.now() / 1000): ActionTokenClaims | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const p = payload as Record<string, unknown>;
  const { jti, exp, iat, bsh } = p;
  if (typeof jti !== 'string' || jti.length < 16 || jti.length > 128) return undefined;
  if (typeof exp !== 'number' || typeof iat !== 'number' || typeof bsh !== 'string') return undefined;
  if (exp - iat > ACTION_TOKEN_MAX_AGE_SECONDS || exp <= iat) return undefined;
  if (iat > nowSeconds + ACTION_TOKEN_CLOCK_SKEW_SECONDS) return undefined;
  return { jti, exp, iat, bsh };
}

/**
 * Token ids seen within their lifetime. In memory: the window is a minute, and a replica that did not see
 * the first use can at worst accept one replay within that minute (documented in action/README.md).
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  private nextPrune = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Records `jti` until `expSeconds`; false when it was already used. */
  remember(jti: string, expSeconds: number): boolean {
    const now = this.now();
    if (now >= this.nextPrune) {
      // Amortised: one sweep every 5 s keeps the map at about a minute of tokens without an O(n) cost per call.
      for (const [id, until] of this.seen) if (until <= now) this.seen.delete(id);
      this.nextPrune = now + 5000;
    }
    const until = this.seen.get(jti);
    if (until !== undefined && until > now) return false;
    this.seen.set(jti, expSeconds * 1000 + 5000);
    return true;
  }
}
