import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ScimScope } from '../../admin/tokens.js';
import { requireScope } from '../auth.js';
import type { Rendered, ScimContext } from '../context.js';
import * as groups from '../groups.js';
import { scimContext, sendScim, type ScimPluginOptions } from '../plugin.js';
import { parseListQuery, parseProjection, searchRequestParams, type ListQuery, type Projection } from '../query.js';
import type { ScimResource, ScimResourceTypeName } from '../schemas/types.js';
import * as users from '../users.js';

/** The operations a resource endpoint needs; Users and Groups each provide them. */
interface ResourceService {
  create(ctx: ScimContext, body: unknown, projection: Projection): Promise<Rendered>;
  get(ctx: ScimContext, id: string, projection: Projection): Promise<Rendered>;
  replace(ctx: ScimContext, id: string, body: unknown, projection: Projection, ifMatch?: string): Promise<Rendered>;
  remove(ctx: ScimContext, id: string, ifMatch?: string): Promise<void>;
  list(ctx: ScimContext, query: ListQuery): Promise<ScimResource>;
}

const SERVICES: Record<ScimResourceTypeName, { endpoint: string; read: ScimScope; write: ScimScope; service: ResourceService }> = {
  User: {
    endpoint: '/Users',
    read: 'users:read',
    write: 'users:write',
    service: { create: users.createUser, get: users.getUser, replace: users.replaceUser, remove: users.deleteUser, list: users.listUsers },
  },
  Group: {
    endpoint: '/Groups',
    read: 'groups:read',
    write: 'groups:write',
    service: { create: groups.createGroup, get: groups.getGroup, replace: groups.replaceGroup, remove: groups.deleteGroup, list: groups.listGroups },
  },
};

type IdRequest = FastifyRequest<{ Params: { tenant: string; id: string } }>;

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
    const list = await service.list(scimContext(request, options), parseListQuery(query(request), options.settings));
    return sendScim(reply, 200, list);
  });

  app.post(`${endpoint}/.search`, async (request, reply) => {
    requireScope(request.scimPrincipal!, read);
    const params = searchRequestParams(request.body);
    const list = await service.list(scimContext(request, options), parseListQuery(params, options.settings));
    return sendScim(reply, 200, list);
  });

  app.post(endpoint, async (request, reply) => {
    requireScope(request.scimPrincipal!, write);
    const { resource, etag } = await service.create(scimContext(request, options), request.body, parseProjection(query(request)));
    const location = (resource.meta as { location?: string } | undefined)?.location;
    reply.header('etag', etag);
    if (location) reply.header('location', location);
    return sendScim(reply, 201, resource);
  });

  app.get(`${endpoint}/:id`, async (request: IdRequest, reply) => {
    requireScope(request.scimPrincipal!, read);
    const { resource, etag } = await service.get(scimContext(request, options), request.params.id, parseProjection(query(request)));
    reply.header('etag', etag);
    // RFC 7644 §3.14: a GET with a matching If-None-Match is answered 304 without a body.
    const ifNoneMatch = header(request, 'if-none-match');
    if (ifNoneMatch && ifNoneMatch.split(',').some((t) => t.trim() === etag || t.trim() === '*')) return reply.code(304).send();
    return sendScim(reply, 200, resource);
  });

  app.put(`${endpoint}/:id`, async (request: IdRequest, reply) => {
    requireScope(request.scimPrincipal!, write);
    const ctx = scimContext(request, options);
    const { resource, etag } = await service.replace(ctx, request.params.id, request.body, parseProjection(query(request)), header(request, 'if-match'));
    reply.header('etag', etag);
    return sendScim(reply, 200, resource);
  });

  app.delete(`${endpoint}/:id`, async (request: IdRequest, reply) => {
    requireScope(request.scimPrincipal!, write);
    await service.remove(scimContext(request, options), request.params.id, header(request, 'if-match'));
    return reply.code(204).send();
  });
}
