/**
 * Auth0 inbound SCIM configuration data: which strategies support it, the default attribute mapping, and
 * token issuance (≤ 2 active tokens per connection; lifetime ≥ 900 s or none) —
 * docs:/authenticate/protocols/scim/configure-inbound-scim.
 */
import { conflict } from './errors.js';
import { newAccessToken, newScimTokenId } from './ids.js';
import type { ConnectionStrategy, EmuScimConfiguration, EmuScimToken } from './types.js';

/** SAML, OpenID Connect, Okta Workforce, Microsoft Azure AD / Entra ID (plus ADFS/PingFederate as SAML). */
export const SCIM_STRATEGIES: readonly ConnectionStrategy[] = ['samlp', 'oidc', 'okta', 'waad', 'adfs', 'pingfederate'];

/** Every SCIM token scope Auth0 offers for Users and Groups. */
export const SCIM_TOKEN_SCOPES = [
  'get:users', 'post:users', 'put:users', 'patch:users', 'delete:users',
  'get:groups', 'post:groups', 'put:groups', 'patch:groups', 'delete:groups',
] as const;

/**
 * The subset of Auth0's default SCIM mapping the emulator applies (SCIM `id` and `meta` are not
 * mappable; `active` maps inverted onto `blocked`).
 */
export const DEFAULT_SCIM_MAPPING: readonly { auth0: string; scim: string }[] = [
  { auth0: 'preferred_username', scim: 'userName' },
  { auth0: 'email', scim: 'emails[primary eq true].value' },
  { auth0: 'app_metadata.external_id', scim: 'externalId' },
  { auth0: 'blocked', scim: 'active' },
  { auth0: 'name', scim: 'displayName' },
  { auth0: 'given_name', scim: 'name.givenName' },
  { auth0: 'family_name', scim: 'name.familyName' },
];

const MAX_ACTIVE_TOKENS = 2;

/** Issues a SCIM bearer token for a connection; returns the one-time view with the secret. */
export function createScimToken(
  cfg: EmuScimConfiguration,
  nowMs: number,
  scopes: readonly string[] = SCIM_TOKEN_SCOPES,
  lifetimeSec?: number,
): EmuScimToken {
  cfg.tokens = cfg.tokens.filter((t) => t.valid_until === undefined || Date.parse(t.valid_until) > nowMs);
  if (cfg.tokens.length >= MAX_ACTIVE_TOKENS) {
    throw conflict('Maximum of 2 tokens already issued for this connection', 'scim_token_limit');
  }
  const token: EmuScimToken = {
    token_id: newScimTokenId(),
    token: newAccessToken(),
    scopes: [...scopes],
    created_at: new Date(nowMs).toISOString(),
  };
  if (lifetimeSec !== undefined) token.valid_until = new Date(nowMs + lifetimeSec * 1000).toISOString();
  cfg.tokens.push(token);
  return { ...token };
}
