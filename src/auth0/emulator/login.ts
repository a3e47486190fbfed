/**
 * The part of Auth0's Authentication API a single-page application signs users in with: `/authorize`
 * (authorization code with PKCE), Universal Login's `/u/login` form for database-connection users, the
 * authorization-code grant of `/oauth/token`, and the tenant's signing keys at `/.well-known/jwks.json`.
 * Access tokens are RS256 JWTs for an API created with `/resource-servers`; with the API's
 * `access_token_authz` dialect they carry the user's RBAC `permissions`, and a login through an
 * organization carries `org_id`, as Auth0 issues them (docs:/get-started/authentication-and-authorization-flow/
 * authorization-code-flow-with-pkce, docs:/manage-users/access-control/enable-role-based-access-control-for-apis,
 * docs:/manage-users/organizations/configure-organizations/use-org-name-authentication-api).
 *
 * The issuer is the URL the caller reached the emulator at (`http://127.0.0.1:<port>/` in tests), so that
 * a browser, the SPA SDK's ID-token checks and Provisio's JWKS lookup all see one consistent tenant.
 * There is no login session: every `/authorize` shows the form, and `prompt=none` answers `login_required`.
 */
import { createHash, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EmulatorContext } from './context.js';
import { passwordMatches } from './passwords.js';
import type { EmuClient, EmuOrganization, EmuUser } from './types.js';

/** Universal Login gives a login transaction 10 minutes or so; a code is good for one use within minutes. */
const TRANSACTION_TTL_MS = 10 * 60_000;
const CODE_TTL_MS = 60_000;
/** ID tokens live 10 hours by default (docs:/secure/tokens/id-tokens/update-id-token-lifetime). */
const ID_TOKEN_LIFETIME_SEC = 36_000;
/** Pending transactions and codes kept at most: a loop of `/authorize` calls must not grow memory. */
const MAX_PENDING = 1_000;

interface LoginRequest {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly state: string | undefined;
  readonly nonce: string | undefined;
  readonly scope: string;
  readonly audience: string | undefined;
  readonly codeChallenge: string;
  readonly codeChallengeMethod: 'S256' | 'plain';
  readonly organizationId: string | undefined;
  readonly responseMode: 'query' | 'fragment';
}

interface PendingCode extends LoginRequest {
  readonly userId: string;
  readonly expiresAt: number;
}

interface SigningKey {
  readonly kid: string;
  readonly jwk: Record<string, unknown>;
  readonly sign: (payload: Record<string, unknown>) => string;
}

/** The Authentication API's error answer (`{error, error_description}`), not the Management API's envelope. */
export class OAuthError extends Error {
  constructor(readonly status: number, readonly error: string, description: string) {
    super(description);
  }
}

function text(source: unknown, name: string): string | undefined {
  if (typeof source !== 'object' || source === null) return undefined;
  const value: unknown = (source as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An HTML page; a form on it may post here and be redirected on to `returnTo` (CSP checks redirects too). */
function page(reply: FastifyReply, status: number, title: string, body: string, returnTo?: string): FastifyReply {
  const formAction = ["'self'", ...(returnTo ? [originOf(returnTo) ?? ''] : [])].filter(Boolean).join(' ');
  return reply.status(status).type('text/html; charset=utf-8').header('cache-control', 'no-store')
    .header('content-security-policy', `default-src 'none'; style-src 'unsafe-inline'; form-action ${formAction}; frame-ancestors 'none'`)
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`
      + '<style>body{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}label,input,button{display:block;width:100%;margin:.3rem 0}input,button{padding:.5rem;box-sizing:border-box}.error{color:#a40e26}</style>'
      + `</head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`);
}

/** Where a login ends: back at the application with a code or an error, in its query or fragment. */
function redirectBack(reply: FastifyReply, request: Pick<LoginRequest, 'redirectUri' | 'state' | 'responseMode'>, params: Record<string, string>): FastifyReply {
  const search = new URLSearchParams(params);
  if (request.state !== undefined) search.set('state', request.state);
  const url = new URL(request.redirectUri);
  if (request.responseMode === 'fragment') url.hash = search.toString();
  else for (const [k, v] of search) url.searchParams.set(k, v);
  return reply.redirect(url.href, 302);
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/** Allowed Web Origins, and, as the dashboard says, every callback URL's origin. */
function allowedOrigins(client: EmuClient): string[] {
  return [...(client.web_origins ?? []), ...(client.callbacks ?? [])].map(originOf).filter((o): o is string => o !== undefined);
}

/** Keeps at most `max` entries, dropping the oldest (Map keeps insertion order). */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as string);
}

export class AuthorizationServer {
  private readonly transactions = new Map<string, LoginRequest & { expiresAt: number }>();
  private readonly codes = new Map<string, PendingCode>();
  private key: SigningKey | undefined;

  constructor(private readonly ctx: EmulatorContext) {}

  /** `https://<domain>/` as Auth0 issues it, or the local URL the emulator was reached at. */
  issuerFor(request: FastifyRequest): string {
    return `${request.protocol}://${request.host}/`;
  }

  /** The tenant's signing key, made on first use: an RSA key costs ~150 ms, and most emulators never sign. */
  signingKey(): SigningKey {
    if (!this.key) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const kid = randomBytes(16).toString('base64url');
      const signer = createSigner({ key: (privateKey as KeyObject).export({ format: 'pem', type: 'pkcs8' }).toString(), algorithm: 'RS256', kid });
      this.key = { kid, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }, sign: (payload) => signer(payload) };
    }
    return this.key;
  }

  /** CORS for the browser's token request: only from the origins some client allows. */
  corsOrigin(request: FastifyRequest): string | undefined {
    const origin = request.headers.origin;
    if (!origin) return undefined;
    for (const client of this.ctx.state.clients.values()) if (allowedOrigins(client).includes(origin)) return origin;
    return undefined;
  }

  authorize(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const q = request.query;
    const clientId = text(q, 'client_id');
    const client = clientId ? this.ctx.state.clients.get(clientId) : undefined;
    if (!client) return page(reply, 400, 'Unknown client', `<p>There is no application with the client ID ${escapeHtml(clientId ?? '(missing)')}.</p>`);
    const redirectUri = text(q, 'redirect_uri');
    // Before the callback is known to be allowed, nothing may be sent to it (an open redirect otherwise).
    if (!redirectUri || !(client.callbacks ?? []).includes(redirectUri)) {
      return page(reply, 400, 'Callback URL mismatch',
        `<p>${escapeHtml(redirectUri ?? '(missing)')} is not in the list of Allowed Callback URLs of the application ${escapeHtml(client.name)}.</p>`);
    }
    const responseMode = text(q, 'response_mode') === 'fragment' ? 'fragment' : 'query';
    const back = { redirectUri, state: text(q, 'state'), responseMode } as const;
    const fail = (error: string, description: string) => redirectBack(reply, back, { error, error_description: description });
    if (text(q, 'response_type') !== 'code') return fail('unsupported_response_type', `Unsupported response type: ${text(q, 'response_type') ?? ''}`);
    const codeChallenge = text(q, 'code_challenge');
    const method = text(q, 'code_challenge_method') ?? 'plain';
    // A public client has no secret: PKCE is what binds the code to the browser that asked for it.
    if (client.app_type === 'spa' && !codeChallenge) return fail('invalid_request', 'Parameter \'code_challenge\' is required');
    if (method !== 'S256' && method !== 'plain') return fail('invalid_request', `Unsupported code_challenge_method: ${method}`);
    const audience = text(q, 'audience');
    if (audience !== undefined && !this.ctx.state.resourceServerByIdentifier(audience)) return fail('access_denied', `Service not found: ${audience}`);
    const organizationParam = text(q, 'organization');
    let organization: EmuOrganization | undefined;
    if (organizationParam !== undefined) {
      organization = this.ctx.state.organizations.get(organizationParam) ?? this.ctx.state.organizationByName(organizationParam.toLowerCase());
      if (!organization) return fail('invalid_request', `parameter organization is invalid: ${organizationParam}`);
    }
    if (text(q, 'prompt') === 'none') return fail('login_required', 'Login required');
    const transaction = randomBytes(24).toString('base64url');
    remember(this.transactions, transaction, {
      clientId: client.client_id,
      redirectUri,
      state: back.state,
      nonce: text(q, 'nonce'),
      scope: text(q, 'scope') ?? 'openid',
      audience,
      codeChallenge: codeChallenge ?? '',
      codeChallengeMethod: method,
      organizationId: organization?.id,
      responseMode,
      expiresAt: this.ctx.now() + TRANSACTION_TTL_MS,
    }, MAX_PENDING);
    return reply.redirect(`/u/login?state=${encodeURIComponent(transaction)}`, 302);
  }

  /** The login form; after a refusal it says why and keeps the email address typed. */
  loginForm(request: FastifyRequest, reply: FastifyReply, error?: string): FastifyReply {
    const transaction = text(request.query, 'state') ?? text(request.body, 'state') ?? '';
    const pending = this.pending(transaction);
    if (!pending) return this.expired(reply);
    const client = this.ctx.state.clients.get(pending.clientId);
    const organization = pending.organizationId ? this.ctx.state.organizations.get(pending.organizationId) : undefined;
    const to = `${client?.name ?? 'the application'}${organization ? ` (${organization.display_name ?? organization.name})` : ''}`;
    return page(reply, error ? 400 : 200, 'Log in', `<p>Log in to continue to ${escapeHtml(to)}.</p>`
      + (error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '')
      + `<form method="post" action="/u/login?state=${encodeURIComponent(transaction)}">`
      + `<input type="hidden" name="state" value="${escapeHtml(transaction)}">`
      + `<label for="username">Email address</label><input id="username" name="username" type="email" autocomplete="username" value="${escapeHtml(error ? text(request.body, 'username') ?? '' : '')}" required>`
      + '<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>'
      + '<button type="submit">Continue</button></form>', pending.redirectUri);
  }

  login(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const transaction = text(request.query, 'state') ?? text(request.body, 'state') ?? '';
    const pending = this.pending(transaction);
    if (!pending) return this.expired(reply);
    const email = (text(request.body, 'username') ?? '').toLowerCase();
    const password = text(request.body, 'password') ?? '';
    const user = this.databaseUser(pending.clientId, email);
    if (!user || !passwordMatches(password, user.password_hash)) return this.loginForm(request, reply, 'Wrong email or password.');
    if (user.blocked) return this.loginForm(request, reply, 'user is blocked');
    this.transactions.delete(transaction);
    if (pending.organizationId) {
      const organization = this.ctx.state.organizations.get(pending.organizationId);
      if (!organization?.members.some((m) => m.user_id === user.user_id)) {
        return redirectBack(reply, pending, { error: 'access_denied', error_description: `user ${user.user_id} is not part of the ${pending.organizationId} organization` });
      }
    }
    user.last_login = new Date(this.ctx.now()).toISOString();
    user.logins_count += 1;
    const code = randomBytes(24).toString('base64url');
    remember(this.codes, code, { ...pending, userId: user.user_id, expiresAt: this.ctx.now() + CODE_TTL_MS }, MAX_PENDING);
    return redirectBack(reply, pending, { code });
  }

  /** `grant_type=authorization_code`: one use per code, the same client and redirect URI, PKCE verified. */
  exchangeCode(body: unknown, issuer: string): Record<string, unknown> {
    const code = text(body, 'code') ?? '';
    const pending = this.codes.get(code);
    this.codes.delete(code);
    if (!pending || pending.expiresAt <= this.ctx.now()) throw new OAuthError(403, 'invalid_grant', 'Invalid authorization code');
    const client = this.ctx.state.clients.get(pending.clientId);
    if (!client || text(body, 'client_id') !== pending.clientId) throw new OAuthError(401, 'access_denied', 'Unauthorized');
    if (client.app_type !== 'spa' && text(body, 'client_secret') !== client.client_secret) throw new OAuthError(401, 'access_denied', 'Unauthorized');
    if (text(body, 'redirect_uri') !== pending.redirectUri) throw new OAuthError(403, 'invalid_grant', 'Invalid redirect_uri');
    const verifier = text(body, 'code_verifier');
    if (pending.codeChallenge !== '') {
      const derived = pending.codeChallengeMethod === 'S256' && verifier ? createHash('sha256').update(verifier).digest('base64url') : verifier;
      if (derived !== pending.codeChallenge) throw new OAuthError(403, 'invalid_grant', 'Failed to verify code verifier');
    }
    const user = this.ctx.state.users.get(pending.userId);
    if (!user) throw new OAuthError(403, 'invalid_grant', 'Invalid authorization code');
    if (user.blocked) throw new OAuthError(401, 'unauthorized', 'user is blocked');
    const now = Math.floor(this.ctx.now() / 1000);
    const api = pending.audience ? this.ctx.state.resourceServerByIdentifier(pending.audience) : undefined;
    const scopes = pending.scope.split(/\s+/).filter(Boolean);
    const sessionId = randomUUID();
    user.sessions.push(sessionId);
    const key = this.signingKey();
    // As with the tenant setting "allow organization names in the Authentication API" on: /authorize takes an
    // organization's name as well as its id, and tokens carry `org_name` (which the SPA SDK checks then).
    const organization = pending.organizationId ? this.ctx.state.organizations.get(pending.organizationId) : undefined;
    const org = organization ? { org_id: organization.id, org_name: organization.name } : {};
    const accessToken = api
      ? key.sign({
        iss: issuer, sub: user.user_id,
        aud: scopes.includes('openid') ? [api.identifier, `${issuer}userinfo`] : api.identifier,
        iat: now, exp: now + api.token_lifetime, scope: scopes.join(' '), azp: client.client_id, ...org,
        ...(api.token_dialect === 'access_token_authz' ? { permissions: this.permissions(user, api.identifier, pending.organizationId) } : {}),
      })
      // Without an audience Auth0 issues an opaque token, good only for /userinfo.
      : randomBytes(32).toString('base64url');
    const idToken = key.sign({
      iss: issuer, sub: user.user_id, aud: client.client_id, iat: now, exp: now + ID_TOKEN_LIFETIME_SEC, sid: sessionId,
      ...(pending.nonce ? { nonce: pending.nonce } : {}),
      ...(scopes.includes('profile') ? { name: user.name, nickname: user.nickname, picture: user.picture, updated_at: user.updated_at } : {}),
      ...(scopes.includes('email') && user.email ? { email: user.email, email_verified: user.email_verified } : {}),
      ...org,
    });
    return {
      access_token: accessToken,
      id_token: idToken,
      scope: scopes.join(' '),
      expires_in: api?.token_lifetime ?? this.ctx.settings.tokenLifetimeSec,
      token_type: 'Bearer',
    };
  }

  /**
   * The user's permissions on one API: from its tenant roles, or, in a login through an organization, from
   * its roles in that organization only (Auth0 leaves the tenant roles out of an organization login).
   */
  private permissions(user: EmuUser, audience: string, organizationId: string | undefined): string[] {
    const roleIds = organizationId
      ? this.ctx.state.organizations.get(organizationId)?.members.find((m) => m.user_id === user.user_id)?.roles ?? []
      : user.roles;
    const names = new Set<string>();
    for (const id of roleIds) {
      for (const p of this.ctx.state.roles.get(id)?.permissions ?? []) if (p.resource_server_identifier === audience) names.add(p.permission_name);
    }
    return [...names].sort();
  }

  /** A user of a database connection enabled for the client, by email. */
  private databaseUser(clientId: string, email: string): EmuUser | undefined {
    const connections = new Set([...this.ctx.state.connections.values()]
      .filter((c) => c.strategy === 'auth0' && c.enabled_clients.includes(clientId)).map((c) => c.name));
    for (const user of this.ctx.state.users.values()) {
      if (user.email === email && user.identities.some((i) => connections.has(i.connection))) return user;
    }
    return undefined;
  }

  private pending(transaction: string): (LoginRequest & { expiresAt: number }) | undefined {
    const pending = this.transactions.get(transaction);
    return pending && pending.expiresAt > this.ctx.now() ? pending : undefined;
  }

  private expired(reply: FastifyReply): FastifyReply {
    return page(reply, 400, 'Your login session expired', '<p>Go back to the application and start again.</p>');
  }
}

/** Registers `/authorize`, `/u/login`, the JWKS and the OpenID discovery document. */
export function registerLogin(app: FastifyInstance, server: AuthorizationServer): void {
  app.get('/authorize', { config: { operation: 'GET /authorize' } }, async (request, reply) => server.authorize(request, reply));
  app.get('/u/login', { config: { operation: 'GET /u/login' } }, async (request, reply) => server.loginForm(request, reply));
  app.post('/u/login', { config: { operation: 'POST /u/login' } }, async (request, reply) => server.login(request, reply));
  app.get('/.well-known/jwks.json', { config: { operation: 'GET /.well-known/jwks.json' } }, async () => ({ keys: [server.signingKey().jwk] }));
  app.get('/.well-known/openid-configuration', { config: { operation: 'GET /.well-known/openid-configuration' } }, async (request) => {
    const issuer = server.issuerFor(request);
    return {
      issuer,
      authorization_endpoint: `${issuer}authorize`,
      token_endpoint: `${issuer}oauth/token`,
      jwks_uri: `${issuer}.well-known/jwks.json`,
      response_types_supported: ['code'],
      response_modes_supported: ['query', 'fragment'],
      grant_types_supported: ['authorization_code', 'client_credentials'],
      code_challenge_methods_supported: ['S256', 'plain'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', 'profile', 'email'],
    };
  });
  // The browser's token request is cross-origin: answer its preflight for the origins clients allow.
  app.options('/oauth/token', async (request, reply) => {
    const origin = server.corsOrigin(request);
    if (origin) {
      reply.header('access-control-allow-origin', origin).header('vary', 'Origin')
        .header('access-control-allow-methods', 'POST').header('access-control-allow-headers', 'Content-Type, Auth0-Client')
        .header('access-control-max-age', '86400');
    }
    return reply.status(204).send();
  });
}
