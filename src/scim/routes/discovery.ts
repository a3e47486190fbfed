import type { FastifyInstance, FastifyRequest } from 'fastify';
import { resourceTypeDocuments, schemaDocuments, serviceProviderConfig } from '../discovery.js';
import { ScimError } from '../errors.js';
import { listResponse } from '../mapping.js';
import { scimBaseUrl, sendScim, type ScimPluginOptions } from '../plugin.js';

/**
 * `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes` (RFC 7644 §4), readable without a token (see the
 * SCIM plugin's onRequest hook). RFC 7644 §4: a filter on them is a 403, not silently ignored.
 */
export function registerDiscoveryRoutes(app: FastifyInstance, options: ScimPluginOptions): void {
  const base = (request: FastifyRequest) => scimBaseUrl(request, options, (request.params as { tenant: string }).tenant);
  const route = {
    preHandler: (request: FastifyRequest, _reply: unknown, done: (err?: Error) => void) => {
      const query = request.query as Record<string, unknown>;
      if (Object.keys(query).some((k) => k.toLowerCase() === 'filter')) return done(ScimError.forbidden('Discovery endpoints take no filter (RFC 7644 §4)'));
      done();
    },
  };
  // Truthful by construction: flip a flag only in the same change that adds and tests the feature.
  const capabilities = { patch: true, bulk: true };

  app.get('/ServiceProviderConfig', route, async (request, reply) =>
    sendScim(reply, 200, serviceProviderConfig(base(request), options.settings, capabilities)),
  );

  app.get('/Schemas', route, async (request, reply) => {
    const docs = schemaDocuments(base(request));
    return sendScim(reply, 200, listResponse(docs, docs.length, 1));
  });

  app.get('/Schemas/:id', route, async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const doc = schemaDocuments(base(request)).find((d) => String(d.id).toLowerCase() === request.params.id.toLowerCase());
    if (!doc) throw ScimError.notFound(`Schema ${request.params.id} not found`);
    return sendScim(reply, 200, doc);
  });

  app.get('/ResourceTypes', route, async (request, reply) => {
    const docs = resourceTypeDocuments(base(request));
    return sendScim(reply, 200, listResponse(docs, docs.length, 1));
  });

  app.get('/ResourceTypes/:name', route, async (request: FastifyRequest<{ Params: { name: string } }>, reply) => {
    const doc = resourceTypeDocuments(base(request)).find((d) => String(d.id).toLowerCase() === request.params.name.toLowerCase());
    if (!doc) throw ScimError.notFound(`ResourceType ${request.params.name} not found`);
    return sendScim(reply, 200, doc);
  });
}
