/**
 * Verifies a `private_key_jwt` client assertion (RFC 7523 §3, developer.okta.com/docs/guides/
 * build-self-signed-jwt): signed with the key registered for the app, `iss` = `sub` = its client id,
 * `aud` = the token endpoint's URL, `exp` in the future and, as Okta requires, at most an hour ahead.
 * Signature and claims are checked by fast-jwt; this module picks the app and words the refusal.
 */
import { createDecoder, createVerifier, type Algorithm } from 'fast-jwt';
import { invalidClient, type OktaOAuthError } from './oauth-errors.js';
import type { OktaServiceApp, OktaServiceApps } from './service-apps.js';

/** Okta's ceiling on an assertion's lifetime, measured from now. */
const MAX_ASSERTION_LIFETIME_SEC = 3600;
const RSA_ALGORITHMS: Algorithm[] = ['RS256', 'RS384', 'RS512'];
const EC_ALGORITHMS: Algorithm[] = ['ES256', 'ES384', 'ES512'];

const decode = createDecoder({ complete: true });

interface DecodedAssertion {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

function decoded(assertion: string): DecodedAssertion {
  try {
    const token = decode(assertion) as { header?: unknown; payload?: unknown };
    const header = token.header;
    const payload = token.payload;
    if (typeof header !== 'object' || header === null || typeof payload !== 'object' || payload === null) throw new Error('not a JWT');
    return { header: header as Record<string, unknown>, payload: payload as Record<string, unknown> };
  } catch {
    throw invalidClient('The client_assertion token is malformed.');
  }
}

/** The refusal for a fast-jwt verification error (its `code`, and for claims its message naming the claim). */
function refusalFor(err: unknown): OktaOAuthError {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : '';
  switch (code) {
    case 'FAST_JWT_INVALID_SIGNATURE': return invalidClient('The client_assertion signature is invalid.');
    case 'FAST_JWT_EXPIRED': return invalidClient('The client_assertion token is expired.');
    case 'FAST_JWT_INACTIVE': return invalidClient('The client_assertion token is not yet valid.');
    case 'FAST_JWT_INVALID_ALGORITHM': return invalidClient('The client_assertion token is signed with an unsupported algorithm.');
    case 'FAST_JWT_MISSING_REQUIRED_CLAIM': return invalidClient(`The client_assertion token is missing a required claim: ${message}`);
    default:
      if (/\baud\b/.test(message)) return invalidClient('The audience claim for client_assertion must be the endpoint invoking the client_assertion.');
      if (/\b(iss|sub)\b/.test(message)) return invalidClient("The client_assertion token's iss and sub claims must be the client_id.");
      return invalidClient('The client_assertion token is invalid.');
  }
}

/**
 * The service app a client assertion authenticates, or the 401 `invalid_client` to answer. `clientId`
 * is the request's optional `client_id` parameter; without it the assertion's `sub` names the app.
 */
export function authenticateServiceApp(
  apps: OktaServiceApps,
  assertion: string,
  options: { clientId?: string; tokenUrl: string; now: number },
): OktaServiceApp {
  const { header, payload } = decoded(assertion);
  const named = options.clientId ?? (typeof payload['sub'] === 'string' ? payload['sub'] : undefined);
  const app = named === undefined ? undefined : apps.get(named);
  if (!app) throw invalidClient("Invalid value for 'client_id' parameter.");
  // okta/okta-sdk-python#289: an assertion naming a key the app does not have.
  if (typeof header['kid'] === 'string' && app.keyId !== undefined && header['kid'] !== app.keyId) {
    throw invalidClient('The client_assertion JWT kid is invalid.');
  }
  const verify = createVerifier({
    key: app.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    algorithms: app.publicKey.asymmetricKeyType === 'ec' ? EC_ALGORITHMS : RSA_ALGORITHMS,
    allowedIss: app.clientId,
    allowedSub: app.clientId,
    allowedAud: options.tokenUrl,
    requiredClaims: ['iss', 'sub', 'aud', 'exp'],
    clockTimestamp: options.now,
  });
  let claims: Record<string, unknown>;
  try {
    claims = verify(assertion) as Record<string, unknown>;
  } catch (err) {
    throw refusalFor(err);
  }
  const exp = claims['exp'];
  if (typeof exp !== 'number' || exp * 1000 > options.now + MAX_ASSERTION_LIFETIME_SEC * 1000) {
    throw invalidClient('The client_assertion token has an expiration too far in the future.');
  }
  return app;
}
