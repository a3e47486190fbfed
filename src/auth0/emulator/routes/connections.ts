/**
 * Connections (list with `name`/`strategy` filters, offset + checkpoint; get) and the Management API
 * side of Auth0 inbound SCIM: a per-connection SCIM configuration and its tokens (≤ 2 active, 409
 * beyond — docs:/authenticate/protocols/scim/manage-an-inbound-scim-deployment-with-the-management-api).
 */
import type { FastifyInstance } from 'fastify';
import type { EmulatorContext } from '../context.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { isRecord } from '../metadata.js';
import { paginate } from '../pagination.js';
import { registerOperation } from '../route.js';
import { createScimToken, DEFAULT_SCIM_MAPPING, SCIM_STRATEGIES } from '../scim-config.js';
import type { EmuScimConfiguration } from '../types.js';
import { connectionView, project } from '../views.js';

export function registerConnectionRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { state } = ctx;

  registerOperation(app, ctx, 'GET /connections', ({ query }) => {
    const strategies = Array.isArray(query['strategy']) ? query['strategy'].map(String)
      : typeof query['strategy'] === 'string' ? [query['strategy']] : [];
    const name = typeof query['name'] === 'string' ? query['name'] : undefined;
    const list = [...state.connections.values()]
      .filter((c) => (name === undefined || c.name === name) && (strategies.length === 0 || strategies.includes(c.strategy)))
      .map((c) => project(connectionView(c, false), query));
    return { status: 200, body: paginate(list, query, 'connections', { idOf: (c) => String(c['id']) }) };
  });

  registerOperation(app, ctx, 'GET /connections/{id}', ({ params, query }) => ({
    status: 200,
    body: project(connectionView(state.connection(params['id'] ?? ''), true), query),
  }));

  const configView = (cfg: EmuScimConfiguration): Record<string, unknown> => {
    const c = state.connection(cfg.connection_id);
    return {
      connection_id: c.id,
      connection_name: c.name,
      strategy: c.strategy,
      tenant_name: state.domain.split('.')[0] ?? state.domain,
      user_id_attribute: cfg.user_id_attribute,
      mapping: cfg.mapping,
      created_at: cfg.created_at,
      updated_on: cfg.updated_on,
    };
  };

  const config = (connectionId: string): EmuScimConfiguration => {
    state.connection(connectionId);
    const cfg = state.scim.get(connectionId);
    if (!cfg) throw notFound('Not Found', 'inexistent_scim_configuration');
    return cfg;
  };

  registerOperation(app, ctx, 'POST /connections/{id}/scim-configuration', ({ params, body }) => {
    const c = state.connection(params['id'] ?? '');
    if (!SCIM_STRATEGIES.includes(c.strategy)) throw badRequest(`SCIM is not supported for strategy ${c.strategy}`, 'operation_not_supported');
    if (state.scim.has(c.id)) throw conflict('A SCIM configuration already exists for this connection', 'scim_configuration_conflict');
    const b = isRecord(body) ? body : {};
    const now = new Date(ctx.now()).toISOString();
    const mapping = Array.isArray(b['mapping'])
      ? b['mapping'].filter(isRecord).map((m) => ({ auth0: String(m['auth0']), scim: String(m['scim']) }))
      : DEFAULT_SCIM_MAPPING.map((m) => ({ ...m }));
    const cfg: EmuScimConfiguration = {
      connection_id: c.id,
      user_id_attribute: typeof b['user_id_attribute'] === 'string' ? b['user_id_attribute'] : 'externalId',
      mapping,
      created_at: now,
      updated_on: now,
      tokens: [],
    };
    state.scim.set(c.id, cfg);
    return { status: 201, body: configView(cfg) };
  });

  registerOperation(app, ctx, 'GET /connections/{id}/scim-configuration', ({ params }) => ({
    status: 200,
    body: configView(config(params['id'] ?? '')),
  }));

  registerOperation(app, ctx, 'DELETE /connections/{id}/scim-configuration', ({ params }) => {
    const cfg = config(params['id'] ?? '');
    state.scim.delete(cfg.connection_id);
    return { status: 204 };
  });

  registerOperation(app, ctx, 'GET /connections/{id}/scim-configuration/tokens', ({ params }) => {
    const cfg = config(params['id'] ?? '');
    return {
      status: 200,
      body: cfg.tokens.map((t) => ({ token_id: t.token_id, scopes: t.scopes, created_at: t.created_at, ...(t.valid_until ? { valid_until: t.valid_until } : {}) })),
    };
  });

  registerOperation(app, ctx, 'POST /connections/{id}/scim-configuration/tokens', ({ params, body }) => {
    const cfg = config(params['id'] ?? '');
    const b = isRecord(body) ? body : {};
    const scopes = Array.isArray(b['scopes']) ? b['scopes'].map(String) : undefined;
    const lifetime = typeof b['token_lifetime'] === 'number' ? b['token_lifetime'] : undefined;
    if (lifetime !== undefined && lifetime < 900) throw badRequest('token_lifetime must be at least 900 seconds', 'invalid_body');
    const token = createScimToken(cfg, ctx.now(), scopes, lifetime);
    return { status: 201, body: token };
  });
}
