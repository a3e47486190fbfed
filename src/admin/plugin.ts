/**
 * The admin HTTP API under `/v1/admin`: tenants, SCIM and admin tokens, Auth0 binding and role rules,
 * sync status, and the delegated org admin's user operations. Encapsulated (no fastify-plugin): its
 * authentication, JWT verifier and error contract stay here (STYLE.md habit 10).
 */
import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import buildGetJwks from 'get-jwks';
import type { Kysely } from 'kysely';
import type { EventsRuntime } from '../events/runtime.js';
import type { DestinationPolicy } from '../events/destination.js';
import type { Auth0Gateway } from '../auth0/gateway.js';
import type { AdminJwtConfig, Auth0Config } from '../config.js';
import { requestOutageLog } from '../db/errors.js';
import type { Database, TenantRow } from '../db/schema.js';
import type { Metrics } from '../metrics.js';
import type { OktaQueue } from '../okta/queue.js';
import { isStorableBody, UnstorableTextError } from '../http/text-hygiene.js';
import type { TokenVerifier } from '../scim/auth.js';
import type { AuthFailureThrottle } from '../scim/throttle.js';
import type { SecretBox } from '../secrets.js';
import type { DirectoryEvents } from '../sync/events.js';
import type { SyncQueue } from '../sync/queue.js';
import { AdminAuthenticator, requireTenantAccess, type AdminPrincipal } from './auth.js';
import { AdminError, errorBody, toAdminError } from './errors.js';
import { registerAdminTokenRoutes } from './routes/admin-tokens.js';
import { registerAuth0Routes } from './routes/auth0.js';
import { registerInvitationRoutes } from './routes/invitations.js';
import { registerOktaRoutes } from './routes/okta.js';
import { registerScimRequestRoutes } from './routes/scim-requests.js';
import { registerSetupLinkRoutes } from './routes/setup-links.js';
import { registerSyncRoutes } from './routes/sync.js';
import { registerTenantRoutes } from './routes/tenants.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerUserRoutes } from './routes/users.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
import { requireTenant } from './tenants.js';

export interface AdminPluginOptions {
  readonly db: Kysely<Database>;
  /** Origin of the SCIM URLs returned to callers; derived from the request when absent. */
  readonly publicUrl?: string;
  /** Accept Auth0-issued RS256 access tokens besides admin tokens. */
  readonly adminJwt?: AdminJwtConfig;
  /** The sync's queue: binding, rules changes, releases and repairs enqueue through it (absent: sync disabled). */
  readonly queue?: SyncQueue;
  /** The Okta mirror's lane (docs/okta-mirror.md): Okta binding, group-rule changes and retries enqueue through it (absent: sync disabled, 503). */
  readonly oktaQueue?: OktaQueue;
  /** `NODE_ENV=production`: an Okta binding must name a real org (the built-in Okta emulator is refused). */
  readonly production?: boolean;
  readonly gateway?: Auth0Gateway;
  /** The configured Auth0 tenant (absent: none, or the built-in emulator): the Auth0 check and the Action deploy use it. */
  readonly auth0?: Auth0Config;
  /** PROVISIO_ACTION_SECRET, deployed as the Post-Login Action's PROVISIO_SECRET. */
  readonly actionSecret?: string;
  readonly events?: DirectoryEvents;
  readonly secrets?: SecretBox;
  /** The SCIM verifier of this process, told to forget cached tokens when one is revoked here. */
  readonly scimTokens?: TokenVerifier;
  readonly metrics?: Metrics;
  /** Failed authentications per source address (shared with SCIM): 429 once an address has used them up. */
  readonly authFailures?: AuthFailureThrottle;
  /** `Retry-After` of the 503 sent while the database is unavailable (`DB_RETRY_AFTER_SECONDS`; default 5). */
  readonly databaseRetryAfterSeconds?: number;
  /** The webhook lane: redeliveries of failed webhook deliveries are queued through it (absent: WEBHOOKS=off). */
  readonly webhooks?: EventsRuntime;
  /** Where webhook endpoints may point (WEBHOOK_ALLOW_HTTP, WEBHOOK_ALLOWED_NETWORKS). */
  readonly destinations: DestinationPolicy;
}

declare module 'fastify' {
  interface FastifyRequest {
    adminPrincipal?: AdminPrincipal;
  }
}

/** What route modules share. */
export interface AdminRoutes {
  readonly app: FastifyInstance;
  readonly options: AdminPluginOptions;
  principal(request: FastifyRequest): AdminPrincipal;
  /** The tenant named in the URL, after checking the caller may act on it (403 for other tenants). */
  tenant(request: FastifyRequest): Promise<TenantRow>;
  /** The origin SCIM base URLs are built from. */
  origin(request: FastifyRequest): string;
  /** The sync queue, or a 503 saying the sync is disabled. */
  queue(): SyncQueue;
}

/** Security requirement shown on every route in the OpenAPI document. */
export const SECURITY: Record<string, string[]>[] = [{ adminToken: [] }, { auth0AccessToken: [] }];

/** At most one JWKS fetch per this interval for key ids the cache has never seen. */
const UNKNOWN_KID_FETCH_INTERVAL_MS = 30_000;

function jwtSecret(config: AdminJwtConfig): (request: FastifyRequest, token: TokenOrHeader) => Promise<string> {
  const jwks = new URL(config.jwksUrl);
  const getJwks = buildGetJwks({ ttl: Math.max(1, config.jwksCacheSeconds) * 1000, jwksPath: jwks.pathname + jwks.search });
  // The key is fetched from the configured JWKS, never from the token's own `iss`: a token cannot name
  // the keys it is checked against.
  const domain = `${jwks.protocol}//${jwks.host}/`;
  // get-jwks caches hits only, so every request with a made-up `kid` would fetch the JWKS: key ids never
  // seen may cause one fetch per interval in total (a rotated-in key is found at the latest then), and a
  // miss evicts nothing, so a forged token cannot lock out the real key.
  let nextUnknownKidFetch = 0;
  return async (request, token) => {
    const { kid, alg } = 'header' in token ? token.header : token;
    // Only RS256 is verified; refuse anything else before it reaches a cache keyed by algorithm.
    if (alg !== 'RS256') throw AdminError.unauthorized('The access token must be signed with RS256');
    if (!kid || typeof kid !== 'string' || kid.length > 256) throw AdminError.unauthorized('The access token has no valid key id (kid)');
    const cacheKey = getJwks.generateCacheKey('RS256', kid, domain);
    if (getJwks.cache.get(cacheKey) === undefined && getJwks.staleCache.get(cacheKey) === undefined) {
      const now = Date.now();
      if (now < nextUnknownKidFetch) throw AdminError.unauthorized(`The access token's signing key ${kid} is not in the JWKS`);
      nextUnknownKidFetch = now + UNKNOWN_KID_FETCH_INTERVAL_MS;
    }
    try {
      return await getJwks.getPublicKey({ domain, kid, alg: 'RS256' });
    } catch (err) {
      // The reason (JWKS unreachable, key missing) is for the operator's log, not the caller.
      request.log.warn({ err, kid, jwks: config.jwksUrl }, 'admin JWT signing key not found');
      throw AdminError.unauthorized(`The access token's signing key ${kid} is not in the JWKS`);
    }
  };
}

export const adminPlugin: FastifyPluginAsync<AdminPluginOptions> = async (app, options) => {
  const { adminJwt } = options;
  if (adminJwt) {
    await app.register(fastifyJwt, {
      secret: jwtSecret(adminJwt),
      decode: { complete: true },
      // Auth0's `iss` ends with a slash; accept the configured issuer written either way.
      verify: { algorithms: ['RS256'], allowedIss: [adminJwt.issuer.replace(/\/+$/, ''), adminJwt.issuer.replace(/\/*$/, '/')], allowedAud: adminJwt.audience, clockTolerance: 5 },
    });
  }
  const { metrics } = options;
  if (metrics) {
    // The route pattern, not the URL: tenant names and ids would make the label set unbounded.
    app.addHook('onResponse', (request, reply, done) => {
      metrics.adminRequests.inc({ route: request.routeOptions.url ?? 'unknown', method: request.method, status: String(reply.statusCode) });
      done();
    });
  }
  // Fastify's JSON parser (prototype-poisoning checks kept), refusing text PostgreSQL cannot store.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const raw = typeof body === 'string' ? body : body.toString('utf8');
    void parseJson(request, raw, (err, parsed) => {
      if (err) return done(err, undefined);
      if (!isStorableBody(raw, parsed)) return done(new UnstorableTextError('body'), undefined);
      done(null, parsed);
    });
  });
  const authenticator = new AdminAuthenticator(options.db);
  const { authFailures } = options;
  app.addHook('onRequest', async (request) => {
    // A guessing loop is refused before its token is looked up, so it costs the database nothing.
    const wait = authFailures?.refused(request.ip);
    if (wait !== undefined) throw AdminError.tooManyRequests(`Too many failed authentications from this address (AUTH_FAILURE_RATE_LIMIT); retry after ${wait} s`, wait);
    // The one route without a bearer credential (the console's sign-in exchange) proves itself in its body.
    if ((request.routeOptions.config as { public?: boolean } | undefined)?.public) return;
    try {
      request.adminPrincipal = await authenticator.authenticate(request.headers.authorization, adminJwt ? () => request.jwtVerify() : undefined);
    } catch (err) {
      if ((err as { statusCode?: unknown }).statusCode === 401) authFailures?.failed(request.ip);
      throw err;
    }
  });

  app.setErrorHandler((err, request, reply) => {
    const known = toAdminError(err, options.databaseRetryAfterSeconds);
    if (!known) {
      request.log.error({ err }, 'unhandled error in admin request');
      return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', code: 'internal', message: 'Internal error; the request was not applied' });
    }
    if (known.code === 'database_unavailable') requestOutageLog.report(request.log, err, 'requests answer 503 with Retry-After');
    else if (known.statusCode >= 500) request.log.error({ err }, 'admin request failed');
    else request.log.info({ status: known.statusCode, code: known.code, detail: known.message }, 'admin client error');
    for (const [name, value] of Object.entries(known.headers)) reply.header(name, value);
    return reply.code(known.statusCode).send(errorBody(known));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody(AdminError.notFound(`No admin endpoint ${request.method} ${request.url.split('?')[0]}`)));
  });

  const routes: AdminRoutes = {
    app,
    options,
    principal(request) {
      if (!request.adminPrincipal) throw AdminError.unauthorized('Not authenticated');
      return request.adminPrincipal;
    },
    async tenant(request) {
      const name = (request.params as { tenant: string }).tenant;
      requireTenantAccess(routes.principal(request), name);
      return requireTenant(options.db, name);
    },
    origin: (request) => options.publicUrl ?? `${request.protocol}://${request.host}`,
    queue() {
      if (!options.queue) throw AdminError.unavailable('The sync is disabled in this process (SYNC_ENABLED=false)');
      return options.queue;
    },
  };
  registerTenantRoutes(routes);
  registerTokenRoutes(routes);
  registerAdminTokenRoutes(routes);
  registerSyncRoutes(routes);
  registerUserRoutes(routes);
  registerInvitationRoutes(routes);
  registerScimRequestRoutes(routes);
  registerSetupLinkRoutes(routes);
  registerAuth0Routes(routes);
  registerWebhookRoutes(routes);
  registerOktaRoutes(routes);
};
