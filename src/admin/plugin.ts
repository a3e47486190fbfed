/**
 * The admin HTTP API under `/v1/admin`: tenants, SCIM and admin tokens, Auth0 binding and role rules,
 * sync status, and the delegated org admin's user operations. Encapsulated (no fastify-plugin): its
 * authentication, JWT verifier and error contract stay here (STYLE.md habit 10).
 */
import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import buildGetJwks from 'get-jwks';
import type { Kysely } from 'kysely';
import type { Auth0Gateway } from '../auth0/gateway.js';
import type { AdminJwtConfig } from '../config.js';
import type { Database, TenantRow } from '../db/schema.js';
import type { Metrics } from '../metrics.js';
import type { TokenVerifier } from '../scim/auth.js';
import type { SecretBox } from '../secrets.js';
import type { DirectoryEvents } from '../sync/events.js';
import type { SyncQueue } from '../sync/queue.js';
import { AdminAuthenticator, requireTenantAccess, type AdminPrincipal } from './auth.js';
import { AdminError, errorBody, toAdminError } from './errors.js';
import { registerAdminTokenRoutes } from './routes/admin-tokens.js';
import { registerInvitationRoutes } from './routes/invitations.js';
import { registerSyncRoutes } from './routes/sync.js';
import { registerTenantRoutes } from './routes/tenants.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerUserRoutes } from './routes/users.js';
import { requireTenant } from './tenants.js';

export interface AdminPluginOptions {
  readonly db: Kysely<Database>;
  /** Origin of the SCIM URLs returned to callers; derived from the request when absent. */
  readonly publicUrl?: string;
  /** Accept Auth0-issued RS256 access tokens besides admin tokens. */
  readonly adminJwt?: AdminJwtConfig;
  /** The sync's queue: binding, rules changes, releases and repairs enqueue through it (absent: sync disabled). */
  readonly queue?: SyncQueue;
  readonly gateway?: Auth0Gateway;
  readonly events?: DirectoryEvents;
  readonly secrets?: SecretBox;
  /** The SCIM verifier of this process, told to forget cached tokens when one is revoked here. */
  readonly scimTokens?: TokenVerifier;
  readonly metrics?: Metrics;
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

const UNKNOWN_KID_MS = 30_000;

function jwtSecret(config: AdminJwtConfig): (request: FastifyRequest, token: TokenOrHeader) => Promise<string> {
  const jwks = new URL(config.jwksUrl);
  const getJwks = buildGetJwks({ ttl: Math.max(1, config.jwksCacheSeconds) * 1000, jwksPath: jwks.pathname + jwks.search });
  // The key is fetched from the configured JWKS, never from the token's own `iss`: a token cannot name
  // the keys it is checked against.
  const domain = `${jwks.protocol}//${jwks.host}/`;
  // A key id the JWKS did not have is not asked for again for a while: otherwise every request with a
  // made-up `kid` would make Provisio fetch the JWKS (get-jwks caches hits only).
  const unknownKids = new Map<string, number>();
  return async (request, token) => {
    const { kid, alg } = 'header' in token ? token.header : token;
    if (!kid) throw AdminError.unauthorized('The access token has no key id (kid)');
    if ((unknownKids.get(kid) ?? 0) > Date.now()) throw AdminError.unauthorized(`The access token's signing key ${kid} is not in the JWKS`);
    try {
      return await getJwks.getPublicKey({ domain, kid, ...(alg ? { alg } : {}) });
    } catch (err) {
      if (unknownKids.size >= 1000) unknownKids.clear();
      unknownKids.set(kid, Date.now() + UNKNOWN_KID_MS);
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
  const authenticator = new AdminAuthenticator(options.db);
  app.addHook('onRequest', async (request) => {
    request.adminPrincipal = await authenticator.authenticate(request.headers.authorization, adminJwt ? () => request.jwtVerify() : undefined);
  });

  app.setErrorHandler((err, request, reply) => {
    const known = toAdminError(err);
    if (!known) {
      request.log.error({ err }, 'unhandled error in admin request');
      return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', code: 'internal', message: 'Internal error; the request was not applied' });
    }
    if (known.statusCode >= 500) request.log.error({ err }, 'admin request failed');
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
};
