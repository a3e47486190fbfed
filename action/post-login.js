/**
 * Provisio Post-Login Action (Auth0 trigger `post-login`, Node 22 runtime; research/auth0.md §4).
 *
 * Plain JavaScript with no npm dependencies on purpose: it runs inside Auth0, not in Provisio, so none of
 * Provisio's libraries (e.g. @fastify/jwt) are available; the request token is an HS256 JWT signed here
 * with `node:crypto` and the call uses the runtime's global `fetch`.
 *
 * Secrets (Actions → this Action → Secrets):
 *   PROVISIO_URL     base URL of Provisio, e.g. https://provisio.example.com
 *   PROVISIO_SECRET  the same value as Provisio's PROVISIO_ACTION_SECRET (≥ 32 characters)
 *   FAIL_MODE        optional: `closed` (default, deny when Provisio is unreachable) or `open` (let the login through)
 *   TIMEOUT_MS       optional: how long to wait for Provisio (default 5000; the whole trigger has 20 s, §4.1)
 *
 * See action/README.md for deployment and the recommended connection and organization settings.
 */
const crypto = require('node:crypto');

// Must match src/login/action-token.ts.
const ISSUER = 'auth0-action:provisio-post-login';
const AUDIENCE = 'provisio:post-login';
const TOKEN_SECONDS = 30;
const DEFAULT_TIMEOUT_MS = 5000;
const MAX_TIMEOUT_MS = 15000;

const UNAVAILABLE = 'Sign-in is temporarily unavailable. Please try again in a few minutes.';
const MISCONFIGURED = 'Sign-in is not available right now because of a configuration problem. Contact your administrator.';
const REFUSED = 'Sign-in was refused. Contact your administrator.';

function base64url(input) {
  return Buffer.from(input).toString('base64url');
}

/** A short-lived HS256 JWT covering exactly `body` (claim `bsh`), with a fresh `jti` against replay. */
function signRequest(secret, body) {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify({
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + TOKEN_SECONDS,
    jti: crypto.randomUUID(),
    bsh: crypto.createHash('sha256').update(body, 'utf8').digest('base64url'),
  }));
  const signature = crypto.createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** The login facts Provisio needs, copied from Auth0's `event` (research/auth0.md §4.2); nothing else is sent. */
function loginFacts(event) {
  const user = event.user || {};
  const connection = event.connection || {};
  const organization = event.organization;
  return {
    user: {
      user_id: user.user_id,
      email: user.email || null,
      email_verified: user.email_verified === true,
      identities: (Array.isArray(user.identities) ? user.identities : []).map((i) => ({
        provider: i.provider,
        user_id: String(i.user_id),
        connection: i.connection,
      })),
    },
    connection: { id: connection.id, name: connection.name, strategy: connection.strategy },
    organization: organization ? { id: organization.id, name: organization.name } : null,
    loginsCount: event.stats && typeof event.stats.logins_count === 'number' ? event.stats.logins_count : 0,
    clientId: event.client ? event.client.client_id : null,
  };
}

function timeoutOf(secrets) {
  const n = Number(secrets.TIMEOUT_MS);
  return Number.isFinite(n) && n > 0 ? Math.min(n, MAX_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS;
}

/** Provisio could not answer (down, timeout, 5xx): FAIL_MODE decides. */
function unavailable(api, secrets, why) {
  if (secrets.FAIL_MODE === 'open') {
    console.log(`provisio unavailable (${why}); FAIL_MODE=open: login allowed without Provisio claims`);
    return;
  }
  console.log(`provisio unavailable (${why}); FAIL_MODE=closed: login denied`);
  api.access.deny(UNAVAILABLE);
}

/** Applies an `allow` answer: namespaced claims on both tokens, mapped app_metadata, linked primary user. */
function applyAllow(api, answer) {
  const claims = answer.claims && typeof answer.claims === 'object' ? answer.claims : {};
  for (const [key, value] of Object.entries(claims)) {
    api.idToken.setCustomClaim(key, value);
    if (api.accessToken) api.accessToken.setCustomClaim(key, value);
  }
  const appMetadata = answer.appMetadata && typeof answer.appMetadata === 'object' ? answer.appMetadata : {};
  for (const [key, value] of Object.entries(appMetadata)) api.user.setAppMetadata(key, value);
  // Provisio linked this SSO identity into an existing user (same verified email): continue as that user.
  if (typeof answer.primaryUserId === 'string' && api.authentication && typeof api.authentication.setPrimaryUser === 'function') {
    api.authentication.setPrimaryUser(answer.primaryUserId);
  }
}

exports.onExecutePostLogin = async (event, api) => {
  const secrets = event.secrets || {};
  const base = String(secrets.PROVISIO_URL || '').replace(/\/+$/, '');
  if (!base || !secrets.PROVISIO_SECRET) {
    // A missing secret is a deployment error, not an outage: never fail open on it.
    console.log('provisio: PROVISIO_URL or PROVISIO_SECRET is not set');
    api.access.deny(MISCONFIGURED);
    return;
  }
  const body = JSON.stringify(loginFacts(event));
  let response;
  try {
    response = await fetch(`${base}/v1/auth0/post-login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${signRequest(secrets.PROVISIO_SECRET, body)}` },
      body,
      signal: AbortSignal.timeout(timeoutOf(secrets)),
    });
  } catch (err) {
    unavailable(api, secrets, err && err.name === 'TimeoutError' ? 'timeout' : 'network error');
    return;
  }
  if (response.status >= 500) {
    unavailable(api, secrets, `HTTP ${response.status}`);
    return;
  }
  if (response.status !== 200) {
    // 401/400: wrong secret, clock skew or a bug — a security answer, so closed whatever FAIL_MODE says.
    console.log(`provisio refused the request: HTTP ${response.status}`);
    api.access.deny(MISCONFIGURED);
    return;
  }
  let answer;
  try {
    answer = await response.json();
  } catch {
    unavailable(api, secrets, 'unreadable answer');
    return;
  }
  if (!answer || (answer.decision !== 'allow' && answer.decision !== 'deny')) {
    unavailable(api, secrets, 'unexpected answer');
    return;
  }
  if (answer.decision === 'deny') {
    api.access.deny(typeof answer.reason === 'string' && answer.reason ? answer.reason : REFUSED);
    return;
  }
  applyAllow(api, answer);
};
