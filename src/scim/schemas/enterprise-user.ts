import { URN } from '../urn.js';
import { attr, type ScimSchema } from './types.js';

/** Enterprise User extension, RFC 7643 §4.3 and §8.7.1. */
export const enterpriseUserSchema: ScimSchema = {
  id: URN.enterpriseUser,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    attr('employeeNumber', 'string', { description: 'Numeric or alphanumeric identifier assigned to a person.' }),
    attr('costCenter', 'string', { description: 'Identifies the name of a cost center.' }),
    attr('organization', 'string', { description: 'Identifies the name of an organization.' }),
    attr('division', 'string', { description: 'Identifies the name of a division.' }),
    attr('department', 'string', { description: 'Identifies the name of a department.' }),
    attr('manager', 'complex', {
      description: 'The User\'s manager.',
      subAttributes: [
        // caseExact: an `id` (RFC 7643 §3.1); §8.7.1 says false, corrected by erratum 8472 (verified).
        attr('value', 'string', { description: 'The id of the SCIM resource representing the User\'s manager.', caseExact: true }),
        attr('$ref', 'reference', { description: 'The URI of the SCIM resource representing the User\'s manager.', referenceTypes: ['User'] }),
        attr('displayName', 'string', { description: 'The displayName of the User\'s manager.', mutability: 'readOnly' }),
      ],
    }),
  ],
};
