import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import type { DatabaseHandle } from './db/client.js';
import { migrationsApplied } from './db/migrate.js';
import { loggerOptions } from './log.js';
import type { Auth0Gateway } from './auth0/gateway.js';
import { loginPlugin } from './login/plugin.js';
import { scimPlugin } from './scim/plugin.js';
import type { DirectoryEvents } from './sync/events.js';
import type { Metrics } from './metrics.js';

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
  });
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      const ready = await migrationsApplied(database.db);
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'migrations pending', database: database.kind });
    } catch {
      return reply.code(503).send({ status: 'database unreachable', database: database.kind });
    }
  });

  const { metrics } = deps;
  if (metrics) {
    app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  }

  await app.register(scimPlugin, {
    ...(metrics ? { metrics } : {}),
    db: database.db,
    settings: config.scim,
    publicUrl: config.publicUrl,
    ...(deps.events ? { events: deps.events } : {}),
  });
  if (config.actionSecret && deps.gateway && deps.events) {
    await app.register(loginPlugin, {
      secret: config.actionSecret, db: database.db, gateway: deps.gateway, events: deps.events,
      ...(deps.loginBudgetMs !== undefined ? { budgetMs: deps.loginBudgetMs } : {}),
    });
  }
  return app as unknown as FastifyInstance;
}
