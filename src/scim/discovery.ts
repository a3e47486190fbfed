import type { ScimSettings } from '../config.js';
import { resourceTypes, schemas } from './registry.js';
import type { ScimAttribute, ScimResource } from './schemas/types.js';
import { URN } from './urn.js';

/** What this server really supports; every flag here is backed by code and tests (RFC 7643 §5). */
export interface Capabilities {
  readonly patch: boolean;
  readonly bulk: boolean;
}

export function serviceProviderConfig(baseUrl: string, settings: ScimSettings, capabilities: Capabilities): ScimResource {
  return {
    schemas: [URN.serviceProviderConfig],
    documentationUri: 'https://github.com/provisio/provisio#readme',
    patch: { supported: capabilities.patch },
    bulk: capabilities.bulk
      ? { supported: true, maxOperations: settings.bulk.maxOperations, maxPayloadSize: settings.bulk.maxPayloadBytes }
      : { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: settings.maxPageSize },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    // RFC 9865 §3: both methods; index stays the default, as clients that know no cursor expect.
    pagination: {
      cursor: true,
      index: true,
      defaultPaginationMethod: 'index',
      defaultPageSize: settings.defaultPageSize,
      maxPageSize: settings.maxPageSize,
      cursorTimeout: settings.cursorTimeoutSeconds,
    },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'Authentication with a per-tenant bearer token issued by `provisio token issue`.',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

function attributeDocument(a: ScimAttribute): ScimResource {
  const doc: ScimResource = {
    name: a.name,
    type: a.type,
    multiValued: a.multiValued,
    description: a.description,
    required: a.required,
    caseExact: a.caseExact,
    mutability: a.mutability,
    returned: a.returned,
    uniqueness: a.uniqueness,
  };
  if (a.canonicalValues && a.canonicalValues.length > 0) doc.canonicalValues = a.canonicalValues;
  if (a.referenceTypes) doc.referenceTypes = a.referenceTypes;
  if (a.subAttributes) doc.subAttributes = a.subAttributes.map(attributeDocument);
  return doc;
}

/** The `/Schemas` resources (RFC 7643 §7). */
export function schemaDocuments(baseUrl: string): ScimResource[] {
  return schemas.map((s) => ({
    schemas: [URN.schema],
    id: s.id,
    name: s.name,
    description: s.description,
    attributes: s.attributes.map(attributeDocument),
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${s.id}` },
  }));
}

/** The `/ResourceTypes` resources (RFC 7643 §6). */
export function resourceTypeDocuments(baseUrl: string): ScimResource[] {
  return resourceTypes.map((rt) => ({
    schemas: [URN.resourceType],
    id: rt.name,
    name: rt.name,
    endpoint: rt.endpoint,
    description: rt.description,
    schema: rt.schema.id,
    schemaExtensions: rt.extensions.map((e) => ({ schema: e.schema.id, required: e.required })),
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${rt.name}` },
  }));
}
