/** Attribute characteristics of RFC 7643 §2.2 / §7, as data. */
export type ScimAttributeType =
  | 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';
export type ScimMutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type ScimReturned = 'always' | 'never' | 'default' | 'request';
export type ScimUniqueness = 'none' | 'server' | 'global';

export interface ScimAttribute {
  readonly name: string;
  readonly type: ScimAttributeType;
  readonly multiValued: boolean;
  readonly description: string;
  readonly required: boolean;
  readonly caseExact: boolean;
  readonly mutability: ScimMutability;
  readonly returned: ScimReturned;
  readonly uniqueness: ScimUniqueness;
  readonly canonicalValues?: readonly string[];
  readonly referenceTypes?: readonly string[];
  readonly subAttributes?: readonly ScimAttribute[];
}

export interface ScimSchema {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly attributes: readonly ScimAttribute[];
}

export type ScimResourceTypeName = 'User' | 'Group';

export interface ScimResourceType {
  readonly name: ScimResourceTypeName;
  readonly endpoint: string;
  readonly description: string;
  readonly schema: ScimSchema;
  readonly extensions: readonly { readonly schema: ScimSchema; readonly required: boolean }[];
}

/**
 * A SCIM resource as JSON, with attribute names in their canonical (schema) case and extension
 * attributes nested under their schema URN key, e.g. `{"userName":"a","urn:…:enterprise:2.0:User":{…}}`.
 */
export type ScimResource = Record<string, unknown>;

type AttrOptions = Partial<Omit<ScimAttribute, 'name' | 'type'>>;

/** Builds an attribute with RFC 7643 §2.2 defaults (readWrite, returned default, caseExact false). */
export function attr(name: string, type: ScimAttributeType, options: AttrOptions = {}): ScimAttribute {
  return {
    name,
    type,
    multiValued: false,
    description: '',
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...(type === 'reference' ? { referenceTypes: ['external'] } : {}),
    ...options,
  };
}
