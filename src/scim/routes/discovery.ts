import type { FastifyInstance, FastifyRequest } from 'fastify';
import { resourceTypeDocuments, schemaDocuments, serviceProviderConfig } from '../discovery.js';
import { ScimError } from '../errors.js';
import { listResponse } from '../mapping.js';
import { scimContext, sendScim, type ScimPluginOptions } from '../plugin.js';

/** `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes` (RFC 7644 §4). Any valid tenant token may read them. */
export function registerDiscoveryRoutes(app: FastifyInstance, options: ScimPluginOptions): void {
  const base = (request: FastifyRequest) => scimContext(request, options).baseUrl;
  // Truthful by construction: flip a flag only in the same change that adds and tests the feature.
  const capabilities = { patch: true, bulk: true };

  app.get('/ServiceProviderConfig', async (request, reply) =>
    sendScim(reply, 200, serviceProviderConfig(base(request), options.settings, capabilities)),
  );

  app.get('/Schemas', async (request, reply) => {
    const docs = schemaDocuments(base(request));
    return sendScim(reply, 200, listResponse(docs, docs.length, 1));
  });

  app.get('/Schemas/:id', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const doc = schemaDocuments(base(request)).find((d) => String(d.id).toLowerCase() === request.params.id.toLowerCase());
    if (!doc) throw ScimError.notFound(`Schema ${request.params.id} not found`);
    return sendScim(reply, 200, doc);
  });

  app.get('/ResourceTypes', async (request, reply) => {
    const docs = resourceTypeDocuments(base(request));
    return sendScim(reply, 200, listResponse(docs, docs.length, 1));
  });

  app.get('/ResourceTypes/:name', async (request: FastifyRequest<{ Params: { name: string } }>, reply) => {
    const doc = resourceTypeDocuments(base(request)).find((d) => String(d.id).toLowerCase() === request.params.name.toLowerCase());
    if (!doc) throw ScimError.notFound(`ResourceType ${request.params.name} not found`);
    return sendScim(reply, 200, doc);
  });
}
