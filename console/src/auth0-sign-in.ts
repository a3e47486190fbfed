/**
 * Staff sign-in with Auth0, when the server names a console application (`CONSOLE_AUTH0_CLIENT_ID`): the
 * authorization-code flow with PKCE through Auth0's official SPA SDK, for an access token of the API the
 * admin API accepts. The SDK is loaded only when someone signs in this way, so the console stays small
 * for everyone else. The token then serves as the session's bearer credential, like a pasted admin token.
 */
import type { Auth0Client } from '@auth0/auth0-spa-js';

export interface ConsoleAuth0Config {
  readonly domain: string;
  readonly clientId: string;
  readonly audience: string;
}

/** Back to the sign-in page: the one URL to list in the application's Allowed Callback URLs. */
export function callbackUrl(): string {
  return `${location.origin}/console/`;
}

/** What the server says about Auth0 sign-in (null: not offered). */
export async function loadConsoleConfig(): Promise<ConsoleAuth0Config | null> {
  const response = await fetch('/console/config.json', { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) return null;
  const body = (await response.json()) as { auth0?: ConsoleAuth0Config | null };
  return body.auth0 ?? null;
}

async function client(config: ConsoleAuth0Config): Promise<Auth0Client> {
  const { Auth0Client } = await import('@auth0/auth0-spa-js');
  // `new Auth0Client`, not `createAuth0Client`: the latter first tries a silent login in a hidden frame,
  // which the console's CSP (frame-ancestors 'none') and a fresh tab have no use for.
  return new Auth0Client({
    domain: config.domain,
    clientId: config.clientId,
    authorizationParams: { audience: config.audience, redirect_uri: callbackUrl(), scope: 'openid profile email' },
    cacheLocation: 'memory',
  });
}

/** Leaves for Auth0's login page; `organization` (id or name) signs a customer's admin in through it. */
export async function startAuth0SignIn(config: ConsoleAuth0Config, organization?: string): Promise<void> {
  const auth0 = await client(config);
  await auth0.loginWithRedirect({ authorizationParams: organization ? { organization } : {} });
}

/** Whether this page load is Auth0 coming back with a code or an error. */
export function isAuth0Callback(): boolean {
  const query = new URLSearchParams(location.search);
  return query.has('state') && (query.has('code') || query.has('error'));
}

/** Finishes the sign-in: the code for tokens (the SDK checks state, nonce and the ID token); the access token. */
export async function finishAuth0SignIn(config: ConsoleAuth0Config): Promise<string> {
  const auth0 = await client(config);
  try {
    await auth0.handleRedirectCallback();
  } finally {
    // The code is spent either way: keep it out of the address bar and the history.
    history.replaceState(null, '', '/console/');
  }
  return auth0.getTokenSilently({ cacheMode: 'cache-only' }).then((token) => {
    if (!token) throw new Error('Auth0 gave no access token for the Provisio API.');
    return token;
  });
}
