/**
 * Builds the Okta emulator's Fastify instance (not listening): one org with one API token and any number
 * of OAuth service apps, in-memory users and groups (`Everyone` included), optional per-family rate
 * budgets, fault injection and a call log of every request.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { CallLog, recordAnsweredCall } from '../../emulators/call-log.js';
import { OktaAccessTokens } from './access-tokens.js';
import { ADMIN_OPERATION, registerAdminRoutes } from './admin-routes.js';
import { loggableBody } from './call-log.js';
import type { OktaEmulatorContext } from './context.js';
import { installOktaErrorHandlers } from './error-handler.js';
import { OktaFaultInjector } from './faults.js';
import { OktaRateLimiter, type OktaRateLimits } from './rate-limit.js';
import { registerGroupMemberRoutes } from './routes/group-members.js';
import { registerGroupRoutes } from './routes/groups.js';
import { registerOAuthTokenRoute } from './routes/oauth-token.js';
import { registerUserGroupRoutes } from './routes/user-groups.js';
import { registerUserLifecycleRoutes } from './routes/user-lifecycle.js';
import { registerUserRoutes } from './routes/users.js';
import { OktaServiceApps, type ServiceAppRegistration } from './service-apps.js';
import { OktaState } from './state.js';

export interface BuildOktaEmulatorOptions {
  /** The API token to accept (default: a random one, returned in the result). */
  token?: string;
  /** Service apps to register up front (more with `context.serviceApps.register`). */
  serviceApps?: readonly ServiceAppRegistration[];
  /** Requests per window by endpoint family; unlimited when left out. */
  rateLimits?: OktaRateLimits;
  /** Length of a rate-limit window (Okta: one minute). */
  rateWindowMs?: number;
  /** Seed of the fault injector's PRNG (replay a scenario). */
  faultSeed?: number;
  now?: () => number;
  logger?: FastifyServerOptions['logger'];
}

export interface BuiltOktaEmulator {
  app: FastifyInstance;
  context: OktaEmulatorContext;
  /** Client ids of `options.serviceApps`, in order. */
  serviceAppIds: string[];
}

/** Records every answered request in the call log (taken-over ones are logged by the fault hook). */
function recordCalls(app: FastifyInstance, ctx: OktaEmulatorContext): void {
  app.addHook('onResponse', async (request, reply) => {
    const operation = request.routeOptions.config.oktaOperation;
    if (operation === ADMIN_OPERATION || request.oktaFaultKind === 'timeout' || request.oktaFaultKind === 'reset') return;
    recordAnsweredCall(ctx.calls, request, reply, ctx.now(), {
      operation,
      clientId: request.oktaCaller?.kind === 'service-app' ? request.oktaCaller.clientId : undefined,
      fault: request.oktaFaultKind,
      loggableBody,
    });
  });
}

/** Builds an un-listened emulator: use `app.inject()` or `app.listen()`. */
export async function buildOktaEmulator(options: BuildOktaEmulatorOptions = {}): Promise<BuiltOktaEmulator> {
  const now = options.now ?? Date.now;
  const context: OktaEmulatorContext = {
    state: new OktaState(new Date(now()).toISOString()),
    limiter: new OktaRateLimiter(options.rateLimits, now, options.rateWindowMs),
    // Okta API tokens are 42 characters; this one is only shaped like it.
    token: options.token ?? `00${randomBytes(30).toString('base64url')}`,
    serviceApps: new OktaServiceApps(),
    accessTokens: new OktaAccessTokens(now),
    faults: new OktaFaultInjector(options.faultSeed),
    calls: new CallLog(),
    now,
  };
  const serviceAppIds = (options.serviceApps ?? []).map((registration) => context.serviceApps.register(registration));
  const app = Fastify({ logger: options.logger ?? false, forceCloseConnections: true });
  // The SDK sends `Content-Type: application/json` on lifecycle POSTs that have no body.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text) as unknown);
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // The token request is form-encoded (RFC 6749 §4.4.2; the SDK's oauth.js).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  installOktaErrorHandlers(app);
  recordCalls(app, context);
  registerOAuthTokenRoute(app, context);
  registerUserRoutes(app, context);
  registerUserLifecycleRoutes(app, context);
  registerUserGroupRoutes(app, context);
  registerGroupRoutes(app, context);
  registerGroupMemberRoutes(app, context);
  registerAdminRoutes(app, context);
  await app.ready();
  return { app, context, serviceAppIds };
}
