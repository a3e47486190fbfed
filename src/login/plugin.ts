/**
 * `POST /v1/auth0/post-login`: the endpoint the Post-Login Action (action/post-login.js) calls for every
 * login. Encapsulated (no fastify-plugin): its JWT verifier, raw-body JSON parser and error handler stay
 * here, so SCIM and admin routes keep their own (STYLE.md habit 10).
 */
import fastifyJwt from '@fastify/jwt';
import type { FastifyPluginAsync } from 'fastify';
import type { Kysely } from 'kysely';
import type { Auth0Gateway } from '../auth0/gateway.js';
import { isDatabaseUnavailable, requestOutageLog } from '../db/errors.js';
import type { Database } from '../db/schema.js';
import type { Metrics } from '../metrics.js';
import type { DirectoryEvents } from '../sync/events.js';
import { UserHistoryRecorder } from '../sync/history-recorder.js';
import { isStorableBody, UnstorableTextError } from '../http/text-hygiene.js';
import {
  ACTION_TOKEN_AUDIENCE, ACTION_TOKEN_ISSUER, ACTION_TOKEN_MAX_AGE_SECONDS, ReplayCache, actionTokenClaims, bodyHash,
} from './action-token.js';
import { LoginDecider } from './decision.js';
import { LoginFactsError, parseLoginFacts } from './facts.js';

export interface LoginPluginOptions {
  /** PROVISIO_ACTION_SECRET (the Action's PROVISIO_SECRET). */
  readonly secret: string;
  readonly db: Kysely<Database>;
  readonly gateway: Auth0Gateway;
  readonly events: DirectoryEvents;
  /** Hard limit for Auth0 calls inside one decision (default 3 s of the Action's 20 s, research/auth0.md §4.1). */
  readonly budgetMs?: number;
  /** `Retry-After` of the 503 sent while the database is unavailable (`DB_RETRY_AFTER_SECONDS`; default 5). */
  readonly databaseRetryAfterSeconds?: number;
  readonly metrics?: Metrics | undefined;
}

/** The JSON body together with its exact bytes, which the token's `bsh` claim covers. */
interface RawJson {
  readonly raw: string;
  readonly json: unknown;
}

const BODY_LIMIT = 64 * 1024;

function unauthorized(message: string) {
  return { error: 'unauthorized', message };
}

export const loginPlugin: FastifyPluginAsync<LoginPluginOptions> = async (app, opts) => {
  await app.register(fastifyJwt, {
    secret: opts.secret,
    verify: {
      algorithms: ['HS256'],
      allowedIss: ACTION_TOKEN_ISSUER,
      allowedAud: ACTION_TOKEN_AUDIENCE,
      maxAge: ACTION_TOKEN_MAX_AGE_SECONDS * 1000,
      clockTolerance: 5,
      requiredClaims: ['jti', 'iat', 'exp', 'bsh'],
    },
  });
  const replays = new ReplayCache();
  // Each decision goes to its user's timeline in batches, off the login path; what is left is written on close.
  const history = new UserHistoryRecorder({ db: opts.db, logger: app.log, metrics: opts.metrics });
  app.addHook('onClose', () => history.close());
  // The Auth0 SDK is otherwise imported on the first call (src/auth0/sdk.ts); a login's Auth0 calls have a
  // hard time budget, so a server that answers logins has it ready before it listens.
  app.addHook('onReady', () => opts.gateway.prepare());
  const decider = new LoginDecider({ db: opts.db, gateway: opts.gateway, events: opts.events, log: app.log, budgetMs: opts.budgetMs ?? 3000, history });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) => {
    const raw = typeof body === 'string' ? body : body.toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return done(Object.assign(new Error('body is not valid JSON'), { statusCode: 400 }), undefined);
    }
    if (!isStorableBody(raw, json)) return done(new UnstorableTextError('body'), undefined);
    done(null, { raw, json } satisfies RawJson);
  });
  app.setErrorHandler((err: { statusCode?: number; message?: string }, request, reply) => {
    // The Action treats any 5xx as "Provisio unavailable" and applies its fail-open/closed setting.
    if (isDatabaseUnavailable(err)) {
      requestOutageLog.report(request.log, err, 'requests answer 503 with Retry-After');
      const seconds = opts.databaseRetryAfterSeconds ?? 5;
      return reply.code(503).header('retry-after', String(seconds)).send({ error: 'unavailable', message: `database unavailable; retry after ${seconds} s` });
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) request.log.error({ err }, 'post-login decision failed');
    return reply.code(status).send({ error: status === 500 ? 'internal' : 'bad_request', message: status === 500 ? 'decision failed' : err.message ?? 'bad request' });
  });

  app.post('/v1/auth0/post-login', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    const header = request.headers.authorization;
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!token) return reply.code(401).send(unauthorized('missing bearer token'));
    let payload: unknown;
    try {
      payload = app.jwt.verify(token);
    } catch {
      // Every verification failure is a 401, including fast-jwt's FAST_JWT_INVALID_ALGORITHM, which
      // @fastify/jwt would otherwise surface as a 500 (STACK.md).
      return reply.code(401).send(unauthorized('invalid, expired or forged token'));
    }
    const claims = actionTokenClaims(payload);
    if (!claims) return reply.code(401).send(unauthorized(`token must carry jti, iat (not in the future), exp (at most ${ACTION_TOKEN_MAX_AGE_SECONDS} s after iat) and bsh`));
    const body = request.body as RawJson | undefined;
    if (!body || typeof body.raw !== 'string') return reply.code(415).send({ error: 'bad_request', message: 'content-type must be application/json' });
    if (bodyHash(body.raw) !== claims.bsh) return reply.code(401).send(unauthorized('token does not cover this body'));
    if (!replays.remember(claims.jti, claims.exp)) return reply.code(401).send(unauthorized('token already used'));
    let facts;
    try {
      facts = parseLoginFacts(body.json);
    } catch (err) {
      if (err instanceof LoginFactsError) return reply.code(400).send({ error: 'bad_request', message: err.message });
      throw err;
    }
    const decision = await decider.decide(facts);
    request.log.info({ auth0UserId: facts.userId, decision: decision.decision }, 'post-login decision');
    return reply.code(200).send(decision);
  });
};
