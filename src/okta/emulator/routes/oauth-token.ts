/**
 * `POST /oauth2/v1/token` of the org authorization server, for service apps only: the client credentials
 * grant with a `private_key_jwt` client assertion, asking for Okta scopes granted to the app
 * (developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/get-access-token). Answers
 * `{token_type: "Bearer", expires_in: 3600, access_token, scope}` or an RFC 6749 §5.2 error
 * (oauth-errors.ts). Faults apply as on every operation, under `POST /oauth2/v1/token`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ACCESS_TOKEN_LIFETIME_SEC } from '../access-tokens.js';
import { authenticateServiceApp } from '../client-assertion.js';
import type { OktaEmulatorContext } from '../context.js';
import { injectedFailure } from '../errors.js';
import { applyFault } from '../fault-hook.js';
import { invalidClient, invalidRequest, invalidScope, unsupportedGrantType } from '../oauth-errors.js';
import { originOf } from '../route.js';
import type { OktaServiceApp } from '../service-apps.js';

const TOKEN_PATH = '/oauth2/v1/token';
const OPERATION = `POST ${TOKEN_PATH}`;
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function field(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value: unknown = (body as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The service app the request authenticates as, or the `invalid_client` / `invalid_request` to answer. */
function clientOf(ctx: OktaEmulatorContext, request: FastifyRequest): OktaServiceApp {
  const grantType = field(request.body, 'grant_type');
  if (grantType === undefined) throw invalidRequest('The request is missing a required parameter: grant_type.');
  if (grantType !== 'client_credentials') throw unsupportedGrantType();
  const assertion = field(request.body, 'client_assertion');
  if (assertion === undefined) {
    // support.okta.com: the org authorization server takes only private_key_jwt for client credentials.
    throw invalidClient('Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method.');
  }
  if (field(request.body, 'client_assertion_type') !== JWT_BEARER) throw invalidClient('The client_assertion_type is invalid.');
  const clientId = field(request.body, 'client_id');
  return authenticateServiceApp(ctx.serviceApps, assertion, {
    ...(clientId !== undefined ? { clientId } : {}),
    tokenUrl: `${originOf(request)}${TOKEN_PATH}`,
    now: ctx.now(),
  });
}

/** The requested scopes, all of which must be granted to the app. */
function grantedScopes(app: OktaServiceApp, scope: string | undefined): string[] {
  const requested = [...new Set((scope ?? '').split(/\s+/).filter((s) => s !== ''))];
  if (requested.length === 0) {
    throw invalidScope("The authorization server resource does not have any configured default scopes, 'scope' must be provided.");
  }
  if (requested.some((s) => !app.scopes.includes(s))) throw invalidScope();
  return requested;
}

/** Registers the token endpoint. */
export function registerOAuthTokenRoute(app: FastifyInstance, ctx: OktaEmulatorContext): void {
  app.route({
    method: 'POST',
    url: TOKEN_PATH,
    config: { oktaOperation: OPERATION },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      if (await applyFault(ctx, OPERATION, request, reply)) return reply;
      const client = clientOf(ctx, request);
      request.oktaCaller = { kind: 'service-app', clientId: client.clientId, scopes: client.scopes };
      const injected = request.oktaInjectedError;
      if (injected?.phase === 'before') throw injectedFailure(injected.status, ctx.limiter.exhaustedHeaders(undefined));
      const scopes = grantedScopes(client, field(request.body, 'scope'));
      const accessToken = ctx.accessTokens.issue(client.clientId, scopes);
      if (injected?.phase === 'after') throw injectedFailure(injected.status, ctx.limiter.exhaustedHeaders(undefined));
      // RFC 6749 §5.1: token answers must not be cached.
      reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' });
      return reply.status(200).send({
        token_type: 'Bearer',
        expires_in: ACCESS_TOKEN_LIFETIME_SEC,
        access_token: accessToken,
        scope: scopes.join(' '),
      });
    },
  });
}
