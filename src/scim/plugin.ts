import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { ScimSettings } from '../config.js';
import type { StatementCanceller } from '../db/cancel.js';
import { isDatabaseUnavailable, requestOutageLog } from '../db/errors.js';
import { onClientGone } from '../http/client-gone.js';
import type { Database } from '../db/schema.js';
import type { DirectoryEvents } from '../sync/events.js';
import type { Metrics } from '../metrics.js';
import { isStorableBody, TEXT_HYGIENE_MESSAGE } from '../http/text-hygiene.js';
import { recordScimRequest, type ScimRequestRecorder } from './audit-trail.js';
import { TokenVerifier, type ScimPrincipal } from './auth.js';
import type { ScimContext } from './context.js';
import { errorBody, toScimError } from './error-response.js';
import { ScimError } from './errors.js';
import { registerBulkRoute } from './routes/bulk.js';
import { registerDiscoveryRoutes } from './routes/discovery.js';
import { registerResourceRoutes } from './routes/resources.js';
import { registerSearchRoute } from './routes/search.js';
import { AuthFailureThrottle, describeLimit, RequestThrottle, type Throttled } from './throttle.js';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

export interface ScimPluginOptions {
  readonly db: Kysely<Database>;
  readonly settings: ScimSettings;
  /** Public origin for URLs in responses; derived from the request when absent. */
  readonly publicUrl?: string;
  readonly verifier?: TokenVerifier;
  /** The Auth0 sync's hook into SCIM writes; absent when no sync runs. */
  readonly events?: DirectoryEvents;
  readonly metrics?: Metrics;
  /** Failed authentications per address, shared with the admin API; built from `settings` when absent. */
  readonly authFailures?: AuthFailureThrottle;
  /** `Retry-After` of the 503 sent while the database is unavailable (`DB_RETRY_AFTER_SECONDS`; default 5). */
  readonly databaseRetryAfterSeconds?: number;
  /** Cancels list and search statements of clients that went away (PostgreSQL only). */
  readonly statements?: StatementCanceller;
  /** The request audit trail (`SCIM_AUDIT`); absent when off. */
  readonly audit?: ScimRequestRecorder;
}

declare module 'fastify' {
  interface FastifyRequest {
    scimPrincipal?: ScimPrincipal;
  }
}

const DISCOVERY_ROUTES = new Set(['ServiceProviderConfig', 'Schemas', 'Schemas/:id', 'ResourceTypes', 'ResourceTypes/:name'].map((p) => `/scim/v2/:tenant/${p}`));

function isDiscoveryRoute(url: string | undefined): boolean {
  return url !== undefined && DISCOVERY_ROUTES.has(url);
}

/** The tenant's SCIM root for URLs in responses (`meta.location`, `$ref`). */
export function scimBaseUrl(request: FastifyRequest, options: Pick<ScimPluginOptions, 'publicUrl'>, tenantName: string): string {
  const origin = options.publicUrl ?? `${request.protocol}://${request.host}`;
  return `${origin}/scim/v2/${tenantName}`;
}

/** The per-request service context; only valid after authentication. */
export function scimContext(request: FastifyRequest, options: ScimPluginOptions): ScimContext {
  const principal = request.scimPrincipal;
  if (!principal) throw ScimError.unauthorized();
  return {
    db: options.db,
    tenantId: principal.tenantId,
    baseUrl: scimBaseUrl(request, options, principal.tenantName),
    settings: options.settings,
    ...(options.events ? { events: options.events } : {}),
  };
}

/**
 * Runs a list or search whose statement is cancelled when the client goes away before the answer
 * (src/db/cancel.ts): the expensive reads (filters over a big tenant, deep pages) stop at once.
 */
export function cancellable<T>(options: ScimPluginOptions, reply: FastifyReply, start: () => Promise<T>): Promise<T> {
  return options.statements ? options.statements.watch((gone) => onClientGone(reply.raw, gone), start) : start();
}

export function sendScim(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(body));
}

/**
 * SCIM 2.0 under `/scim/v2/:tenant` (RFC 7644). Encapsulated: its JSON parser, error handler and
 * 404 handler apply to SCIM routes only, so other APIs keep their own error contract.
 */
async function scimRoutes(app: FastifyInstance, options: ScimPluginOptions): Promise<void> {
  const verifier = options.verifier ?? new TokenVerifier(options.db, options.settings.tokenCacheMs);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/scim+json', 'application/json'],
    { parseAs: 'string', bodyLimit: options.settings.maxBodyBytes },
    (_request, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') return done(null, undefined);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return done(ScimError.invalidSyntax('The request body is not valid JSON'), undefined);
      }
      if (!isStorableBody(text, parsed)) return done(ScimError.invalidValue(`${TEXT_HYGIENE_MESSAGE} (body)`), undefined);
      done(null, parsed);
    },
  );

  const { metrics, settings } = options;
  const throttle = settings.rateLimit ? new RequestThrottle(settings.rateLimit) : undefined;
  const authFailures = options.authFailures ?? (settings.authFailureRateLimit ? new AuthFailureThrottle(settings.authFailureRateLimit) : undefined);

  /** The 429 for a request the buckets refuse (`throttled`), counted in the metrics; undefined when it may go on. */
  const refusal = (principal: ScimPrincipal, throttled: Throttled | undefined): ScimError | undefined => {
    if (!throttled) return undefined;
    metrics?.scimThrottled.inc({ tenant: principal.tenantName, reason: throttled.reason });
    return ScimError.tooManyRequests(
      `Too many requests for this ${throttled.reason}: the limit is ${describeLimit(throttled.limit)} (SCIM_RATE_LIMIT); retry after ${throttled.retryAfterSeconds} s`,
      throttled.retryAfterSeconds,
    );
  };
  /** Authenticated: spend one token of the tenant's and the token's buckets, or refuse with 429. */
  const admit = (request: FastifyRequest, principal: ScimPrincipal): ScimError | undefined => {
    request.scimPrincipal = principal;
    return refusal(principal, throttle?.take(principal));
  };
  /** A 401 spends one of the address's failures; anything else (a 503 from the database) does not. */
  const rejected = (request: FastifyRequest, err: Error): Error => {
    if (err instanceof ScimError && err.status === 401) authFailures?.failed(request.ip);
    return err;
  };

  // Callback-style hook: a cached token is verified without creating a promise per request. A token
  // found valid in the cache passes even from an address that is refused for failures (an IdP behind the
  // same NAT as a guesser keeps working); everything else from that address is a 429 before any lookup.
  app.addHook('onRequest', (request, _reply, done) => {
    // Discovery is readable without a token (RFC 7643 §5: a client learns there how to authenticate). The
    // documents are the same for every tenant name and read no database, so they tell nobody whether a
    // tenant exists; a token that is sent is still checked, so a client with a bad one hears about it.
    if (request.method === 'GET' && isDiscoveryRoute(request.routeOptions.url) && request.headers.authorization === undefined) return done();
    const tenant = (request.params as { tenant?: string }).tenant ?? '';
    let principal: ScimPrincipal | undefined;
    let failure: Error | undefined;
    try {
      principal = verifier.verifyCached(tenant, request.headers.authorization);
    } catch (err) {
      failure = err as Error;
    }
    if (principal) return done(admit(request, principal));
    const wait = authFailures?.refused(request.ip);
    if (wait !== undefined) {
      metrics?.scimThrottled.inc({ tenant: 'unauthenticated', reason: 'auth_failures' });
      return done(ScimError.tooManyRequests(`Too many failed authentications from this address (AUTH_FAILURE_RATE_LIMIT); retry after ${wait} s`, wait));
    }
    if (failure) return done(rejected(request, failure));
    verifier.verify(tenant, request.headers.authorization).then(
      (loaded) => done(admit(request, loaded)),
      (err: Error) => done(rejected(request, err)),
    );
  });

  if (metrics) {
    // The route's resource (Users, Groups, Schemas …) rather than the URL: bounded label values.
    app.addHook('onResponse', (request, reply, done) => {
      const resource = /^\/scim\/v2\/:tenant\/([^/]*)/.exec(request.routeOptions.url ?? '')?.[1] || 'unknown';
      const tenant = request.scimPrincipal?.tenantName ?? 'unauthenticated';
      metrics.scimRequest(tenant, resource, request.method, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }

  const { audit } = options;
  if (audit) {
    // After the response is sent: the record is built and queued synchronously, written later in a batch.
    app.addHook('onResponse', (request, reply, done) => {
      recordScimRequest(audit, request, reply);
      done();
    });
  }

  const retryAfter = options.databaseRetryAfterSeconds ?? 5;
  app.setErrorHandler((err, request, reply) => {
    // Refused, reset or timed out: the IdP retries later (Entra and Okta honour Retry-After on 503). The
    // database layer cannot know SCIM, so the mapping is here rather than in toScimError.
    const unavailable = isDatabaseUnavailable(err);
    const scimError = unavailable
      ? ScimError.serviceUnavailable(`The directory database is not available right now; retry after ${retryAfter} s`, retryAfter)
      : toScimError(err);
    if (!scimError) {
      request.log.error({ err }, 'unhandled error in SCIM request');
      request.scimError = new ScimError(500, 'Internal server error; the request was not applied');
      return sendScim(reply, 500, errorBody(request.scimError));
    }
    request.scimError = scimError;
    if (unavailable) requestOutageLog.report(request.log, err, 'requests answer 503 with Retry-After');
    else if (scimError.status >= 500) request.log.error({ err }, 'SCIM request failed');
    else request.log.info({ status: scimError.status, scimType: scimError.scimType, detail: scimError.message }, 'SCIM client error');
    for (const [name, value] of Object.entries(scimError.headers)) reply.header(name, value);
    return sendScim(reply, scimError.status, errorBody(scimError));
  });

  app.setNotFoundHandler((request, reply) => {
    sendScim(reply, 404, errorBody(ScimError.notFound(`No SCIM endpoint ${request.method} ${request.url.split('?')[0]}`)));
  });

  registerResourceRoutes(app, options, 'User');
  registerResourceRoutes(app, options, 'Group');
  registerSearchRoute(app, options);
  registerBulkRoute(app, options, (principal, operations) => refusal(principal, throttle?.takeMore(principal, operations)));
  registerDiscoveryRoutes(app, options);
}

export const scimPlugin = fp(
  async (app: FastifyInstance, options: ScimPluginOptions) => {
    await app.register(scimRoutes, { ...options, prefix: '/scim/v2/:tenant' });
  },
  { name: 'provisio-scim', fastify: '5.x' },
);
