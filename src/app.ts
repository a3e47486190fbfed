import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import type { Auth0Config, Config } from './config.js';
import type { DatabaseHandle } from './db/client.js';
import { databaseReadiness } from './db/readiness.js';
import { loggerOptions } from './log.js';
import { clientErrorHandler, frameworkErrorHandler, rootErrorHandler, rootNotFoundHandler } from './framework-errors.js';
import { consoleAuth0, registerConsole } from './http/console.js';
import { isStorableRecord, UnstorableTextError } from './http/text-hygiene.js';
import { sharedSchemaCompilers } from './http/schema-compilers.js';
import { CredentialInUrlError, credentialParameter } from './http/url-credentials.js';
import type { Auth0Gateway } from './auth0/gateway.js';
import { adminPlugin } from './admin/plugin.js';
import { loginPlugin } from './login/plugin.js';
import { ScimRequestPruner, ScimRequestRecorder } from './scim/audit-trail.js';
import { TokenVerifier } from './scim/auth.js';
import { scimPlugin } from './scim/plugin.js';
import { AuthFailureThrottle } from './scim/throttle.js';
import type { SecretBox } from './secrets.js';
import { canonicalScimUrl } from './scim/url.js';
import type { DirectoryEvents } from './sync/events.js';
import type { SyncQueue } from './sync/queue.js';
import type { OktaQueue } from './okta/queue.js';
import type { SyncRole } from './sync/worker.js';
import type { Metrics } from './metrics.js';
import type { EventsRuntime } from './events/runtime.js';

export interface AppDependencies {
  readonly config: Config;
  readonly database: DatabaseHandle;
  /** A logger to use instead of building one from `config.logLevel` (tests pass a silent one). */
  readonly logger?: Logger;
  /** SCIM writes notify the Auth0 sync through this (see src/sync/events.ts). */
  readonly events?: DirectoryEvents;
  /** Served at `/metrics` in the Prometheus text format when given. */
  readonly metrics?: Metrics;
  /** The sync's Auth0 gateway: with `config.actionSecret` and `events` it enables `POST /v1/auth0/post-login`. */
  readonly gateway?: Auth0Gateway;
  /** Hard limit for Auth0 calls inside one login decision (default 3000 ms). */
  readonly loginBudgetMs?: number;
  /** The Auth0 tenant in use when it is not `config.auth0`: the zero-config start's built-in emulator. */
  readonly auth0?: Auth0Config;
  /** The sync's job queue: the admin API binds tenants, changes rules and queues repairs through it. */
  readonly queue?: SyncQueue;
  /** Seals inbound SCIM tokens of bindings made through the admin API. */
  readonly secrets?: SecretBox;
  /** The sync worker: `running`, `paused` (database unreachable), `standby` (another replica holds the sync lease: still ready) or `stopped` (`/readyz` 503). */
  readonly syncState?: () => SyncRole;
  /** The webhook lane (src/events/runtime.ts): redeliveries are queued through it. */
  readonly webhooks?: EventsRuntime;
  /** The Okta lane: Okta bindings queue the initial mirror, and retries, through it. */
  readonly oktaQueue?: OktaQueue;
}

/** A hop count as the function Fastify's types accept (its runtime takes the number too). */
function fastifyTrustProxy(setting: NonNullable<Config['trustProxy']>): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return typeof setting === 'boolean' ? setting : [...setting];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the HTTP application without listening (tests use `inject()`); `src/cli/serve.ts` listens. */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const { config, database } = deps;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: loggerOptions(config.logLevel) }),
    // Honour a caller's X-Request-Id when it is sane, so one id follows a request across systems.
    requestIdHeader: 'x-request-id',
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    bodyLimit: config.scim.maxBodyBytes,
    // `/users`, `/USERS` and `/Users/` reach the SCIM routes of `/Users` (src/scim/url.ts).
    rewriteUrl: (request) => canonicalScimUrl(request.url ?? '/'),
    // Behind a load balancer the client's address (failed-authentication throttling, logs) and the public
    // scheme and host come from X-Forwarded-* headers, but only from the proxies TRUST_PROXY names.
    ...(config.trustProxy !== undefined ? { trustProxy: fastifyTrustProxy(config.trustProxy) } : {}),
    // Slow clients (src/config.ts HttpTimeouts): headers, the whole request, idle keep-alive and idle sockets
    // are all bounded, checked every second, so connections that never finish do not stay open.
    connectionTimeout: config.http.idleTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    requestTimeout: config.http.requestTimeoutMs,
    http: { headersTimeout: Math.min(config.http.headersTimeoutMs, config.http.requestTimeoutMs), connectionsCheckingInterval: 1000 },
    // The admin API's schemas reject unknown body fields (a typo must not be silently dropped); SCIM
    // routes validate bodies themselves and ignore unknown attributes on purpose (README "Choices").
    ajv: { customOptions: { removeAdditional: false } },
    schemaController: { compilersFactory: sharedSchemaCompilers },
    // What Fastify and Node reject themselves answers in the body of the API the URL names.
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  });
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    // Decoded path parameters and query values reach SQL (tenant names, ids, filters, cursors); bodies
    // are checked by each API's JSON parser.
    if (!isStorableRecord(request.params) || !isStorableRecord(request.query)) return done(new UnstorableTextError('URL'));
    // A token in the URL leaks into proxies' and our logs: refused, and redacted in the log line (src/log.ts).
    const credential = request.url.includes('?') ? credentialParameter(request.query) : undefined;
    if (credential) return done(new CredentialInUrlError(credential));
    done();
  });
  app.setErrorHandler(rootErrorHandler);
  app.setNotFoundHandler(rootNotFoundHandler);

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Provisio admin API', version: '1', description: 'Operators and delegated org admins: tenants, tokens, Auth0 binding, role rules, users. SCIM 2.0 itself is under /scim/v2/<tenant> (RFC 7644).' },
      components: {
        securitySchemes: {
          adminToken: { type: 'http', scheme: 'bearer', description: 'pva_… admin token: operator (every tenant) or delegated (one tenant)' },
          auth0AccessToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Auth0 RS256 access token with provisio:admin or provisio:org-admin (ADMIN_JWT_ISSUER/AUDIENCE)' },
        },
      },
    },
    // Only the admin API and the probes are described here; SCIM is described by its own discovery endpoints.
    transform: ({ schema, url }) => ({ schema: url.startsWith('/v1/admin') || ['/healthz', '/readyz'].includes(url) ? schema : { ...schema, hide: true }, url }),
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  app.get('/healthz', { schema: { tags: ['probes'], summary: 'The process is up' } }, async () => ({ status: 'ok' }));
  // 503 within 2 s when the database does not answer (src/db/readiness.ts); `/healthz` never touches it.
  const readiness = databaseReadiness(database.db, 1500);
  app.get('/readyz', { schema: { tags: ['probes'], summary: 'Database reachable, migrations applied, sync worker running' } }, async (_request, reply) => {
    const sync = deps.syncState ? deps.syncState() : 'disabled';
    const db = await readiness();
    const status = db !== 'ready' ? db : sync === 'stopped' ? 'sync worker stopped' : 'ready';
    return reply.code(status === 'ready' ? 200 : 503).send({ status, database: database.kind, sync });
  });

  const { metrics } = deps;
  if (metrics) {
    app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  }

  // One verifier, so a SCIM token revoked through the admin API stops working here at once.
  const scimTokens = new TokenVerifier(database.db, config.scim.tokenCacheMs);
  // One count of failed authentications per address for SCIM and the admin API together.
  const authFailures = config.scim.authFailureRateLimit ? new AuthFailureThrottle(config.scim.authFailureRateLimit) : undefined;
  // The SCIM request audit trail: written in batches off the request path, the rest written on close.
  // Pruning runs in a serving process only (from `listen`), whether or not new requests are recorded.
  const scimAudit = config.scimAudit.enabled ? new ScimRequestRecorder({ db: database.db, logger: app.log, readsPerSecond: config.scimAudit.readsPerSecond, ...(metrics ? { metrics } : {}) }) : null;
  const scimAuditPruner = new ScimRequestPruner({ db: database.db, logger: app.log, retentionDays: config.scimAudit.retentionDays });
  app.decorate('scimAudit', scimAudit);
  app.addHook('onListen', (done) => {
    scimAuditPruner.start();
    done();
  });
  app.addHook('onClose', async () => {
    await scimAuditPruner.stop();
    await scimAudit?.close();
  });
  await app.register(scimPlugin, {
    ...(scimAudit ? { audit: scimAudit } : {}),
    ...(metrics ? { metrics } : {}),
    verifier: scimTokens,
    ...(authFailures ? { authFailures } : {}),
    db: database.db,
    settings: config.scim,
    databaseRetryAfterSeconds: config.database.retryAfterSeconds,
    ...(database.canceller ? { statements: database.canceller } : {}),
    publicUrl: config.publicUrl,
    ...(deps.events ? { events: deps.events } : {}),
  });
  if (config.actionSecret && deps.gateway && deps.events) {
    await app.register(loginPlugin, {
      secret: config.actionSecret, db: database.db, gateway: deps.gateway, events: deps.events,
      ...(deps.loginBudgetMs !== undefined ? { budgetMs: deps.loginBudgetMs } : {}),
      databaseRetryAfterSeconds: config.database.retryAfterSeconds,
      ...(metrics ? { metrics } : {}),
    });
  }
  await app.register(adminPlugin, {
    prefix: '/v1/admin',
    db: database.db,
    databaseRetryAfterSeconds: config.database.retryAfterSeconds,
    scimTokens,
    ...(authFailures ? { authFailures } : {}),
    ...(metrics ? { metrics } : {}),
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    ...(config.adminJwt ? { adminJwt: config.adminJwt } : {}),
    ...(deps.queue ? { queue: deps.queue } : {}),
    ...(deps.gateway ? { gateway: deps.gateway } : {}),
    ...(deps.events ? { events: deps.events } : {}),
    ...(deps.secrets ? { secrets: deps.secrets } : {}),
    ...(deps.auth0 ?? config.auth0 ? { auth0: (deps.auth0 ?? config.auth0)! } : {}),
    ...(config.actionSecret ? { actionSecret: config.actionSecret } : {}),
    ...(deps.webhooks ? { webhooks: deps.webhooks } : {}),
    ...(deps.oktaQueue ? { oktaQueue: deps.oktaQueue } : {}),
    production: config.production,
    destinations: { allowHttp: config.events.allowHttp, allowedNetworks: config.events.allowedNetworks },
  });
  await registerConsole(app as unknown as FastifyInstance, { auth0: consoleAuth0(config.adminJwt) });
  return app as unknown as FastifyInstance;
}
