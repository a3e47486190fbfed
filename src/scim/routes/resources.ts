import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ScimScope } from '../../admin/tokens.js';
import { requireScope } from '../auth.js';
import type { Rendered, ScimContext } from '../context.js';
import * as groups from '../groups.js';
import { cancellable, scimContext, sendScim, type ScimPluginOptions } from '../plugin.js';
import type { RequestDialect } from '../patching.js';
import { returnPreference } from '../prefer.js';
import { parseListQuery, parseProjection, searchRequestParams, type ListQuery, type Projection } from '../query.js';
import type { ScimResource, ScimResourceTypeName } from '../schemas/types.js';
import * as users from '../users.js';

/** The operations a resource endpoint needs; Users and Groups each provide them. */
interface ResourceService {
  create(ctx: ScimContext, body: unknown, projection: Projection, dialect: RequestDialect): Promise<Rendered>;
  get(ctx: ScimContext, id: string, projection: Projection): Promise<Rendered>;
  replace(ctx: ScimContext, id: string, body: unknown, projection: Projection, ifMatch: string | undefined, dialect: RequestDialect): Promise<Rendered>;
  patch(ctx: ScimContext, id: string, body: unknown, projection: Projection | undefined, ifMatch: string | undefined, dialect: RequestDialect): Promise<Rendered | undefined>;
  remove(ctx: ScimContext, id: string, ifMatch?: string): Promise<void>;
  list(ctx: ScimContext, query: ListQuery): Promise<ScimResource>;
}

const SERVICES: Record<ScimResourceTypeName, { endpoint: string; read: ScimScope; write: ScimScope; service: ResourceService }> = {
  User: {
    endpoint: '/Users',
    read: 'users:read',
    write: 'users:write',
    service: {
      create: users.createUser,
      get: users.getUser,
      replace: users.replaceUser,
      patch: users.patchUser,
      remove: users.deleteUser,
      list: users.listUsers,
    },
  },
  Group: {
    endpoint: '/Groups',
    read: 'groups:read',
    write: 'groups:write',
    service: {
      create: groups.createGroup,
      get: groups.getGroup,
      replace: groups.replaceGroup,
      patch: groups.patchGroup,
      remove: groups.deleteGroup,
      list: groups.listGroups,
    },
  },
};

type IdRequest = FastifyRequest<{ Params: { tenant: string; id: string } }>;

/** The IdP dialect facts of a request: the tenant's setting, the User-Agent and the query (Entra's flag). */
function dialectOf(request: FastifyRequest): RequestDialect {
  return {
    setting: request.scimPrincipal?.dialect ?? 'auto',
    userAgent: header(request, 'user-agent'),
    query: request.query as Record<string, unknown>,
  };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** CRUD + list + `/.search` for one resource type (RFC 7644 §3.3–§3.6). */
export function registerResourceRoutes(app: FastifyInstance, options: ScimPluginOptions, type: ScimResourceTypeName): void {
  const { endpoint, read, write, service } = SERVICES[type];
  const query = (request: FastifyRequest) => request.query as Record<string, unknown>;

  app.get(endpoint, async (request, reply) => {
    requireScope(request.scimPrincipal!, read);
    const ctx = scimContext(request, options);
    const listQuery = parseListQuery(query(request), options.settings);
    const list = await cancellable(options, reply, () => service.list(ctx, listQuery));
    return sendScim(reply, 200, list);
  });

  app.post(`${endpoint}/.search`, async (request, reply) => {
    requireScope(request.scimPrincipal!, read);
    const params = searchRequestParams(request.body);
    const ctx = scimContext(request, options);
    const listQuery = parseListQuery(params, options.settings);
    const list = await cancellable(options, reply, () => service.list(ctx, listQuery));
    return sendScim(reply, 200, list);
  });

  app.post(endpoint, async (request, reply) => {
    requireScope(request.scimPrincipal!, write);
    const { resource, etag } = await service.create(scimContext(request, options), request.body, parseProjection(query(request), options.settings.limits), dialectOf(request));
    // The created resource for the audit trail (src/scim/audit-trail.ts): a POST URL names no id.
    if (typeof resource.id === 'string') request.scimResourceId = resource.id;
    const location = (resource.meta as { location?: string } | undefined)?.location;
    reply.header('etag', etag);
    if (location) reply.header('location', location);
    return sendScim(reply, 201, resource);
  });

  app.get(`${endpoint}/:id`, async (request: IdRequest, reply) => {
    requireScope(request.scimPrincipal!, read);
    const { resource, etag } = await service.get(scimContext(request, options), request.params.id, parseProjection(query(request), options.settings.limits));
    reply.header('etag', etag);
    // RFC 7644 §3.14: a GET with a matching If-None-Match is answered 304 without a body.
    const ifNoneMatch = header(request, 'if-none-match');
    if (ifNoneMatch && ifNoneMatch.split(',').some((t) => t.trim() === etag || t.trim() === '*')) return reply.code(304).send();
    return sendScim(reply, 200, resource);
  });

  app.put(`${endpoint}/:id`, async (request: IdRequest, reply) => {
    requireScope(request.scimPrincipal!, write);
    const ctx = scimContext(request, options);
    const { resource, etag } = await service.replace(ctx, request.params.id, request.body, parseProjection(query(request), options.settings.limits), header(request, 'if-match'), dialectOf(request));
    reply.header('etag', etag);
    return sendScim(reply, 200, resource);
  });

  /**
   * PATCH answers 200 with the resource (honouring `attributes`/`excludedAttributes`) for Users and Groups,
   * which is what most clients compare against; 204 without a body when the client asks with
   * `Prefer: return=minimal` (RFC 7240), or, for Groups, when the tenant's dialect is pinned to Entra
   * (its documented exchanges answer group PATCHes 204, and a large group's members are costly to send
   * after every change). `Prefer: return=representation` always gets the body.
   */
  app.patch(`${endpoint}/:id`, async (request: IdRequest, reply) => {
    requireScope(request.scimPrincipal!, write);
    const projection = parseProjection(query(request), options.settings.limits);
    const preference = returnPreference(header(request, 'prefer'));
    const minimal = preference === 'minimal' || (preference === undefined && type === 'Group' && request.scimPrincipal!.dialect === 'entra');
    const ctx = scimContext(request, options);
    const result = await service.patch(ctx, request.params.id, request.body, minimal ? undefined : projection, header(request, 'if-match'), dialectOf(request));
    if (preference) reply.header('preference-applied', `return=${preference}`);
    if (result) reply.header('etag', result.etag);
    if (minimal || !result) return reply.code(204).send();
    return sendScim(reply, 200, result.resource);
  });

  app.delete(`${endpoint}/:id`, async (request: IdRequest, reply) => {
    requireScope(request.scimPrincipal!, write);
    await service.remove(scimContext(request, options), request.params.id, header(request, 'if-match'));
    return reply.code(204).send();
  });
}
