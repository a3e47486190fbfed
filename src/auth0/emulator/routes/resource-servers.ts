/**
 * APIs (`/resource-servers`): create, list, get. They are the audiences that `/authorize` and the
 * authorization-code grant issue user access tokens for (login.ts), and what role permissions name.
 * The Management API itself is a resource server of every tenant, and cannot be created again.
 */
import type { FastifyInstance } from 'fastify';
import type { EmulatorContext } from '../context.js';
import { conflict, notFound } from '../errors.js';
import { randomHex } from '../ids.js';
import { isRecord } from '../metadata.js';
import { managementAudience } from '../oauth.js';
import { paginate } from '../pagination.js';
import { registerOperation } from '../route.js';
import type { EmuResourceServer } from '../types.js';

const DEFAULT_TOKEN_LIFETIME_SEC = 86_400;

export function resourceServerView(api: EmuResourceServer): Record<string, unknown> {
  return { ...api, is_system: false };
}

export function registerResourceServerRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { state } = ctx;

  registerOperation(app, ctx, 'POST /resource-servers', ({ body }) => {
    const b = isRecord(body) ? body : {};
    const identifier = String(b['identifier']);
    if (identifier === managementAudience(state.domain) || state.resourceServerByIdentifier(identifier)) {
      throw conflict('A resource server with the same identifier already exists.', 'operation_not_supported');
    }
    const scopes = Array.isArray(b['scopes']) ? b['scopes'].filter(isRecord).map((s) => ({
      value: String(s['value']),
      ...(typeof s['description'] === 'string' ? { description: s['description'] } : {}),
    })) : [];
    const api: EmuResourceServer = {
      // Auth0's resource-server ids are 24 hex characters.
      id: randomHex(24),
      name: typeof b['name'] === 'string' ? b['name'] : identifier,
      identifier,
      scopes,
      signing_alg: 'RS256',
      token_lifetime: typeof b['token_lifetime'] === 'number' ? b['token_lifetime'] : DEFAULT_TOKEN_LIFETIME_SEC,
      token_dialect: b['token_dialect'] === 'access_token_authz' ? 'access_token_authz' : 'access_token',
      enforce_policies: b['enforce_policies'] === true,
      allow_offline_access: b['allow_offline_access'] === true,
      skip_consent_for_verifiable_first_party_clients: b['skip_consent_for_verifiable_first_party_clients'] !== false,
    };
    state.resourceServers.set(api.id, api);
    return { status: 201, body: resourceServerView(api) };
  });

  registerOperation(app, ctx, 'GET /resource-servers', ({ query }) => {
    const wanted = Array.isArray(query['identifiers']) ? query['identifiers'].map(String) : undefined;
    const apis = [...state.resourceServers.values()].filter((api) => !wanted || wanted.includes(api.identifier));
    return { status: 200, body: paginate(apis.map(resourceServerView), query, 'resource_servers') };
  });

  registerOperation(app, ctx, 'GET /resource-servers/{id}', ({ params }) => {
    const api = state.resourceServers.get(params['id'] ?? '');
    if (!api) throw notFound('Resource server not found', 'inexistent_resource_server');
    return { status: 200, body: resourceServerView(api) };
  });
}
