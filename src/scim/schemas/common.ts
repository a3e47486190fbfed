import { attr, type ScimAttribute } from './types.js';

/** Attributes every resource has, RFC 7643 §3.1. Not part of any schema's `attributes` list. */
export const commonAttributes: readonly ScimAttribute[] = [
  attr('id', 'string', {
    description: 'Unique identifier for the SCIM resource as defined by the service provider.',
    caseExact: true,
    mutability: 'readOnly',
    returned: 'always',
    uniqueness: 'server',
  }),
  attr('externalId', 'string', {
    description: 'An identifier for the resource as defined by the provisioning client.',
    caseExact: true,
  }),
  attr('meta', 'complex', {
    description: 'Resource metadata.',
    mutability: 'readOnly',
    subAttributes: [
      attr('resourceType', 'string', { description: 'The name of the resource type of the resource.', mutability: 'readOnly', caseExact: true }),
      attr('created', 'dateTime', { description: 'The DateTime that the resource was added to the service provider.', mutability: 'readOnly' }),
      attr('lastModified', 'dateTime', { description: 'The most recent DateTime that the details of this resource were updated.', mutability: 'readOnly' }),
      attr('location', 'reference', { description: 'The URI of the resource being returned.', mutability: 'readOnly', caseExact: true, referenceTypes: ['uri'] }),
      attr('version', 'string', { description: 'The version (weak ETag) of the resource being returned.', mutability: 'readOnly', caseExact: true }),
    ],
  }),
];
