/**
 * Builds the Okta emulator's Fastify instance (not listening): one org with one API token, in-memory
 * users and groups, optional per-family rate budgets.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { OktaEmulatorContext } from './context.js';
import { installOktaErrorHandlers } from './error-handler.js';
import { OktaRateLimiter, type OktaRateLimits } from './rate-limit.js';
import { registerGroupMemberRoutes } from './routes/group-members.js';
import { registerGroupRoutes } from './routes/groups.js';
import { registerUserLifecycleRoutes } from './routes/user-lifecycle.js';
import { registerUserRoutes } from './routes/users.js';
import { OktaState } from './state.js';

export interface BuildOktaEmulatorOptions {
  /** The API token to accept (default: a random one, returned in the result). */
  token?: string;
  /** Requests per window by endpoint family; unlimited when left out. */
  rateLimits?: OktaRateLimits;
  /** Length of a rate-limit window (Okta: one minute). */
  rateWindowMs?: number;
  now?: () => number;
  logger?: FastifyServerOptions['logger'];
}

export interface BuiltOktaEmulator {
  app: FastifyInstance;
  context: OktaEmulatorContext;
}

/** Builds an un-listened emulator: use `app.inject()` or `app.listen()`. */
export async function buildOktaEmulator(options: BuildOktaEmulatorOptions = {}): Promise<BuiltOktaEmulator> {
  const now = options.now ?? Date.now;
  const context: OktaEmulatorContext = {
    state: new OktaState(),
    limiter: new OktaRateLimiter(options.rateLimits, now, options.rateWindowMs),
    // Okta API tokens are 42 characters; this one is only shaped like it.
    token: options.token ?? `00${randomBytes(30).toString('base64url')}`,
    now,
  };
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
  installOktaErrorHandlers(app);
  registerUserRoutes(app, context);
  registerUserLifecycleRoutes(app, context);
  registerGroupRoutes(app, context);
  registerGroupMemberRoutes(app, context);
  await app.ready();
  return { app, context };
}
