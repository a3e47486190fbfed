import { URN } from '../urn.js';
import { attr, type ScimSchema } from './types.js';

/**
 * Core Group schema, RFC 7643 §4.2 and §8.7.1. `displayName` is unique per tenant (case-insensitive)
 * here although the RFC leaves it `none`: IdPs match groups by displayName and Auth0 requires it too.
 */
export const groupSchema: ScimSchema = {
  id: URN.group,
  name: 'Group',
  description: 'Group',
  attributes: [
    attr('displayName', 'string', { description: 'A human-readable name for the Group.', required: true, uniqueness: 'server' }),
    attr('members', 'complex', {
      multiValued: true,
      description: 'A list of members of the Group (Users or Groups).',
      subAttributes: [
        attr('value', 'string', { description: 'Identifier of the member of this Group.', mutability: 'immutable' }),
        attr('$ref', 'reference', { description: 'The URI of the member resource.', mutability: 'immutable', referenceTypes: ['User', 'Group'] }),
        attr('display', 'string', { description: 'A human-readable name of the member.', mutability: 'readOnly' }),
        attr('type', 'string', { description: 'The type of the member.', mutability: 'immutable', canonicalValues: ['User', 'Group'] }),
      ],
    }),
  ],
};
