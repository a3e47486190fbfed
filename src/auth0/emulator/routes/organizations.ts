/**
 * `/api/v2/organizations`: create, list (offset + checkpoint), by name, get, update, delete, and enabled
 * connections (docs:/manage-users/organizations/configure-organizations/create-organizations,
 * …/enable-connections; limits from research/auth0.md §1.5).
 */
import type { FastifyInstance } from 'fastify';
import type { EmulatorContext } from '../context.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { newOrganizationId } from '../ids.js';
import { isRecord, mergeFirstLevel } from '../metadata.js';
import { paginate } from '../pagination.js';
import { registerOperation } from '../route.js';
import type { EmuEnabledConnection, EmuOrganization } from '../types.js';
import { enabledConnectionView, organizationView } from '../views.js';

const MAX_CONNECTIONS_PER_ORG = 10;
const MAX_METADATA_KEYS = 25;

function checkMetadata(metadata: Record<string, unknown>): void {
  if (Object.keys(metadata).length > MAX_METADATA_KEYS) {
    throw badRequest(`Payload validation error: 'Too many properties (maximum ${MAX_METADATA_KEYS})' on property metadata.`, 'invalid_body');
  }
}

export function registerOrganizationRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { state } = ctx;

  const enabledConnection = (org: EmuOrganization, input: Record<string, unknown>): EmuEnabledConnection => {
    const connectionId = String(input['connection_id']);
    const connection = state.connections.get(connectionId);
    if (!connection) throw badRequest(`The connection does not exist: ${connectionId}`, 'inexistent_connection');
    if (org.enabled_connections.some((e) => e.connection_id === connectionId)) {
      throw conflict('The connection is already enabled for this organization.', 'organization_connection_conflict');
    }
    const assign = input['assign_membership_on_login'] === true;
    const signup = input['is_signup_enabled'] === true;
    // is_signup_enabled applies to database connections and needs auto-membership (spec/docs).
    if (signup && (connection.strategy !== 'auth0' || !assign)) {
      throw badRequest('is_signup_enabled requires a database connection with assign_membership_on_login enabled', 'invalid_body');
    }
    return {
      connection_id: connectionId,
      assign_membership_on_login: assign,
      show_as_button: input['show_as_button'] !== false,
      is_signup_enabled: signup,
    };
  };

  registerOperation(app, ctx, 'POST /organizations', ({ body }) => {
    const b = isRecord(body) ? body : {};
    const name = String(b['name']);
    if (state.organizationByName(name)) throw conflict('An organization with this name already exists.', 'organization_conflict');
    const org: EmuOrganization = {
      id: newOrganizationId(),
      name,
      created_at: new Date(ctx.now()).toISOString(),
      enabled_connections: [],
      members: [],
      removed_members: [],
    };
    if (typeof b['display_name'] === 'string') org.display_name = b['display_name'];
    if (isRecord(b['branding'])) org.branding = b['branding'];
    if (isRecord(b['metadata'])) {
      checkMetadata(b['metadata']);
      org.metadata = Object.fromEntries(Object.entries(b['metadata']).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    }
    const connections = Array.isArray(b['enabled_connections']) ? b['enabled_connections'].filter(isRecord) : [];
    if (connections.length > MAX_CONNECTIONS_PER_ORG) {
      throw badRequest(`An organization can have at most ${MAX_CONNECTIONS_PER_ORG} connections`, 'invalid_body');
    }
    for (const c of connections) org.enabled_connections.push(enabledConnection(org, c));
    state.organizations.set(org.id, org);
    const view = organizationView(org);
    if (org.enabled_connections.length) {
      view['enabled_connections'] = org.enabled_connections.map((e) => ({
        connection_id: e.connection_id,
        assign_membership_on_login: e.assign_membership_on_login,
        show_as_button: e.show_as_button,
        is_signup_enabled: e.is_signup_enabled,
      }));
    }
    return { status: 201, body: view };
  });

  registerOperation(app, ctx, 'GET /organizations', ({ query }) => {
    const orgs = [...state.organizations.values()].map(organizationView);
    return { status: 200, body: paginate(orgs, query, 'organizations', { idOf: (o) => String(o['id']) }) };
  });

  registerOperation(app, ctx, 'GET /organizations/name/{name}', ({ params }) => {
    const org = state.organizationByName(params['name'] ?? '');
    if (!org) throw notFound('No organization found by that id or name', 'inexistent_organization');
    return { status: 200, body: organizationView(org) };
  });

  registerOperation(app, ctx, 'GET /organizations/{id}', ({ params }) => ({
    status: 200,
    body: organizationView(state.organization(params['id'] ?? '')),
  }));

  registerOperation(app, ctx, 'PATCH /organizations/{id}', ({ params, body }) => {
    const org = state.organization(params['id'] ?? '');
    const b = isRecord(body) ? body : {};
    if (typeof b['name'] === 'string' && b['name'] !== org.name) {
      if (state.organizationByName(b['name'])) throw conflict('An organization with this name already exists.', 'organization_conflict');
      org.name = b['name'];
    }
    if ('display_name' in b) {
      if (typeof b['display_name'] === 'string') org.display_name = b['display_name'];
      else delete org.display_name;
    }
    if ('branding' in b) {
      if (isRecord(b['branding'])) org.branding = b['branding'];
      else delete org.branding;
    }
    if (isRecord(b['metadata'])) {
      // Metadata keys set to null are removed; others are replaced (first-level merge).
      const merged = mergeFirstLevel(org.metadata ?? {}, b['metadata']);
      checkMetadata(merged);
      org.metadata = Object.fromEntries(Object.entries(merged).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    }
    return { status: 200, body: organizationView(org) };
  });

  registerOperation(app, ctx, 'DELETE /organizations/{id}', ({ params }) => {
    const org = state.organization(params['id'] ?? '');
    state.organizations.delete(org.id);
    for (const [id, inv] of state.invitations) if (inv.organization_id === org.id) state.invitations.delete(id);
    return { status: 204 };
  });

  registerOperation(app, ctx, 'GET /organizations/{id}/enabled_connections', ({ params, query }) => {
    const org = state.organization(params['id'] ?? '');
    const items = org.enabled_connections.map((e) => enabledConnectionView(state, e));
    return { status: 200, body: paginate(items, query, 'enabled_connections') };
  });

  registerOperation(app, ctx, 'POST /organizations/{id}/enabled_connections', ({ params, body }) => {
    const org = state.organization(params['id'] ?? '');
    if (org.enabled_connections.length >= MAX_CONNECTIONS_PER_ORG) {
      throw badRequest(`An organization can have at most ${MAX_CONNECTIONS_PER_ORG} connections`, 'invalid_body');
    }
    const entry = enabledConnection(org, isRecord(body) ? body : {});
    org.enabled_connections.push(entry);
    return { status: 201, body: enabledConnectionView(state, entry) };
  });

  const findEnabled = (orgId: string, connectionId: string): { org: EmuOrganization; entry: EmuEnabledConnection } => {
    const org = state.organization(orgId);
    const entry = org.enabled_connections.find((e) => e.connection_id === connectionId);
    if (!entry) throw notFound('The connection is not enabled for this organization.', 'inexistent_connection');
    return { org, entry };
  };

  registerOperation(app, ctx, 'GET /organizations/{id}/enabled_connections/{connectionId}', ({ params }) => {
    const { entry } = findEnabled(params['id'] ?? '', params['connectionId'] ?? '');
    return { status: 200, body: enabledConnectionView(state, entry) };
  });

  registerOperation(app, ctx, 'PATCH /organizations/{id}/enabled_connections/{connectionId}', ({ params, body }) => {
    const { entry } = findEnabled(params['id'] ?? '', params['connectionId'] ?? '');
    const b = isRecord(body) ? body : {};
    for (const key of ['assign_membership_on_login', 'show_as_button', 'is_signup_enabled'] as const) {
      const value = b[key];
      if (typeof value === 'boolean') entry[key] = value;
    }
    return { status: 200, body: enabledConnectionView(state, entry) };
  });

  registerOperation(app, ctx, 'DELETE /organizations/{id}/enabled_connections/{connectionId}', ({ params }) => {
    const { org, entry } = findEnabled(params['id'] ?? '', params['connectionId'] ?? '');
    org.enabled_connections = org.enabled_connections.filter((e) => e !== entry);
    return { status: 204 };
  });
}
