/**
 * `POST /oauth/token` with the client-credentials grant, as the SDK's TokenProvider sends it
 * (form-encoded `grant_type, client_id, client_secret, audience`; research/auth0.md §1.1), and the
 * authorization-code grant of a user's login (login.ts). Errors use the Authentication API's
 * `{error, error_description}` shape, not the Management envelope. Management API tokens are opaque
 * random strings mapped to the client and the scopes of its grant.
 */
import type { FastifyInstance } from 'fastify';
import type { EmulatorContext } from './context.js';
import { applyFault } from './fault-hook.js';
import { newAccessToken } from './ids.js';
import { OAuthError, type AuthorizationServer } from './login.js';

function field(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value: unknown = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** The Management API audience of this tenant. */
export function managementAudience(domain: string): string {
  return `https://${domain}/api/v2/`;
}

/** Registers `POST /oauth/token`. */
export function registerOAuth(app: FastifyInstance, ctx: EmulatorContext, login: AuthorizationServer): void {
  app.post('/oauth/token', { config: { operation: 'POST /oauth/token' } }, async (request, reply) => {
    const fault = await applyFault(ctx, 'POST /oauth/token', request, reply);
    if (fault === 'hijacked') return reply;
    if (fault === 'error-before') {
      return reply.status(request.faultStatus ?? 500).send({ error: 'server_error', error_description: 'Injected fault' });
    }
    const body = request.body;
    const grant = field(body, 'grant_type');
    const origin = login.corsOrigin(request);
    if (origin) reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    if (grant === 'authorization_code') {
      try {
        return reply.header('cache-control', 'no-store').send(login.exchangeCode(body, login.issuerFor(request)));
      } catch (err) {
        if (err instanceof OAuthError) return reply.status(err.status).send({ error: err.error, error_description: err.message });
        throw err;
      }
    }
    if (grant !== 'client_credentials') {
      return reply.status(403).send({ error: 'unsupported_grant_type', error_description: `Unsupported grant type: ${grant ?? ''}` });
    }
    const clientId = field(body, 'client_id');
    const client = clientId === undefined ? undefined : ctx.state.clients.get(clientId);
    if (!client || client.client_secret !== field(body, 'client_secret')) {
      return reply.status(401).send({ error: 'access_denied', error_description: 'Unauthorized' });
    }
    const audience = field(body, 'audience') ?? '';
    if (audience !== managementAudience(ctx.state.domain)) {
      return reply.status(403).send({ error: 'access_denied', error_description: `Service not enabled within domain: ${audience}` });
    }
    if (client.scopes.length === 0) {
      return reply.status(403).send({
        error: 'access_denied',
        error_description: `Client is not authorized to access "${audience}". You need to create a "client-grant" associated to this API.`,
      });
    }
    // A `scope` parameter narrows the token to the requested subset of the grant.
    const requested = field(body, 'scope')?.split(/\s+/).filter(Boolean);
    const scopes = requested ? client.scopes.filter((s) => requested.includes(s)) : [...client.scopes];
    const token = newAccessToken();
    const expiresIn = ctx.settings.tokenLifetimeSec;
    ctx.state.tokens.set(token, { client_id: client.client_id, scopes, expires_at: ctx.now() + expiresIn * 1000 });
    request.auth0Caller = { clientId: client.client_id, scopes };
    return reply.send({ access_token: token, scope: scopes.join(' '), expires_in: expiresIn, token_type: 'Bearer' });
  });
}
