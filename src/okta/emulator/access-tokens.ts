/**
 * Access tokens minted by the org authorization server for service apps. Their lifetime is fixed at one
 * hour (developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/get-access-token: "The
 * lifetime for this token is fixed at one hour"). The emulator's tokens are opaque; a client must not
 * read them anyway.
 */
import { newAccessToken } from './ids.js';

/** Seconds an access token lives (`expires_in`). */
export const ACCESS_TOKEN_LIFETIME_SEC = 3600;

/** What a bearer token stands for. */
export interface OktaAccessToken {
  clientId: string;
  scopes: readonly string[];
  /** Epoch ms after which the token is refused. */
  expiresAt: number;
}

/** The live access tokens of one org. */
export class OktaAccessTokens {
  private readonly tokens = new Map<string, OktaAccessToken>();

  constructor(private readonly now: () => number) {}

  /** Mints a token for `clientId` holding `scopes` (forgetting expired ones, so the map stays small). */
  issue(clientId: string, scopes: readonly string[]): string {
    const now = this.now();
    for (const [token, grant] of this.tokens) if (grant.expiresAt <= now) this.tokens.delete(token);
    const token = newAccessToken();
    this.tokens.set(token, { clientId, scopes: [...scopes], expiresAt: now + ACCESS_TOKEN_LIFETIME_SEC * 1000 });
    return token;
  }

  /** The grant behind a live token; undefined when unknown or expired. */
  find(token: string): OktaAccessToken | undefined {
    const grant = this.tokens.get(token);
    return grant && grant.expiresAt > this.now() ? grant : undefined;
  }
}
