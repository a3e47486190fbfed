import { URN } from '../urn.js';
import { attr, type ScimAttribute, type ScimSchema } from './types.js';

/** The `type`/`primary`/`display`/`value` sub-attributes shared by the User's multi-valued attributes. */
function multiValued(
  name: string,
  description: string,
  canonicalTypes: readonly string[],
  valueOptions: Partial<ScimAttribute> = {},
  extra: readonly ScimAttribute[] = [],
): ScimAttribute {
  return attr(name, 'complex', {
    multiValued: true,
    description,
    subAttributes: [
      attr('value', 'string', { description: `The ${name} value.`, ...valueOptions }),
      attr('display', 'string', { description: 'A human-readable name, primarily used for display purposes.' }),
      attr('type', 'string', { description: 'A label indicating the attribute\'s function.', canonicalValues: canonicalTypes }),
      attr('primary', 'boolean', { description: 'Indicates the primary or preferred attribute value.' }),
      ...extra,
    ],
  });
}

/** Core User schema, RFC 7643 §4.1 and §8.7.1. */
export const userSchema: ScimSchema = {
  id: URN.user,
  name: 'User',
  description: 'User Account',
  attributes: [
    attr('userName', 'string', {
      description: 'Unique identifier for the User, typically used by the user to directly authenticate to the service provider.',
      required: true,
      uniqueness: 'server',
    }),
    attr('name', 'complex', {
      description: 'The components of the user\'s real name.',
      subAttributes: [
        attr('formatted', 'string', { description: 'The full name, including all middle names, titles, and suffixes as appropriate, formatted for display.' }),
        attr('familyName', 'string', { description: 'The family name of the User.' }),
        attr('givenName', 'string', { description: 'The given name of the User.' }),
        attr('middleName', 'string', { description: 'The middle name(s) of the User.' }),
        attr('honorificPrefix', 'string', { description: 'The honorific prefix(es) of the User.' }),
        attr('honorificSuffix', 'string', { description: 'The honorific suffix(es) of the User.' }),
      ],
    }),
    attr('displayName', 'string', { description: 'The name of the User, suitable for display to end-users.' }),
    attr('nickName', 'string', { description: 'The casual way to address the user in real life.' }),
    attr('profileUrl', 'reference', { description: 'A fully qualified URL pointing to a page representing the User\'s online profile.' }),
    attr('title', 'string', { description: 'The user\'s title, such as "Vice President".' }),
    attr('userType', 'string', { description: 'Used to identify the relationship between the organization and the user.' }),
    attr('preferredLanguage', 'string', { description: 'Indicates the User\'s preferred written or spoken language.' }),
    attr('locale', 'string', { description: 'Used to indicate the User\'s default location for purposes of localizing items.' }),
    attr('timezone', 'string', { description: 'The User\'s time zone in the "Olson" time zone database format.' }),
    attr('active', 'boolean', { description: 'A Boolean value indicating the User\'s administrative status.' }),
    attr('password', 'string', {
      description: 'The User\'s cleartext password. Accepted and discarded: Provisio never stores it.',
      mutability: 'writeOnly',
      returned: 'never',
    }),
    multiValued('emails', 'Email addresses for the user.', ['work', 'home', 'other']),
    multiValued('phoneNumbers', 'Phone numbers for the User.', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
    multiValued('ims', 'Instant messaging addresses for the User.', ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo']),
    multiValued('photos', 'URLs of photos of the User.', ['photo', 'thumbnail'], { type: 'reference', referenceTypes: ['external'] }),
    attr('addresses', 'complex', {
      multiValued: true,
      description: 'A physical mailing address for this User.',
      subAttributes: [
        attr('formatted', 'string', { description: 'The full mailing address, formatted for display.' }),
        attr('streetAddress', 'string', { description: 'The full street address component.' }),
        attr('locality', 'string', { description: 'The city or locality component.' }),
        attr('region', 'string', { description: 'The state or region component.' }),
        attr('postalCode', 'string', { description: 'The zip code or postal code component.' }),
        attr('country', 'string', { description: 'The country name component.' }),
        attr('type', 'string', { description: 'A label indicating the attribute\'s function.', canonicalValues: ['work', 'home', 'other'] }),
        attr('primary', 'boolean', { description: 'Indicates the primary or preferred address.' }),
      ],
    }),
    attr('groups', 'complex', {
      multiValued: true,
      description: 'A list of groups to which the user belongs (direct membership), maintained through the Group resource.',
      mutability: 'readOnly',
      subAttributes: [
        attr('value', 'string', { description: 'The identifier of the User\'s group.', mutability: 'readOnly' }),
        attr('$ref', 'reference', { description: 'The URI of the corresponding Group resource.', mutability: 'readOnly', referenceTypes: ['Group'] }),
        attr('display', 'string', { description: 'A human-readable name of the group.', mutability: 'readOnly' }),
        attr('type', 'string', { description: 'Membership type.', mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
      ],
    }),
    multiValued('entitlements', 'A list of entitlements for the User.', []),
    multiValued('roles', 'A list of roles for the User.', []),
    multiValued('x509Certificates', 'A list of certificates issued to the User.', [], { type: 'binary' }),
  ],
};
