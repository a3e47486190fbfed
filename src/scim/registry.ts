import { commonAttributes } from './schemas/common.js';
import { enterpriseUserSchema } from './schemas/enterprise-user.js';
import { groupSchema } from './schemas/group.js';
import { userSchema } from './schemas/user.js';
import type { ScimAttribute, ScimResourceType, ScimResourceTypeName, ScimSchema } from './schemas/types.js';

/** The resource types this server serves; discovery, validation, filters and PATCH all read these. */
export const userResourceType: ScimResourceType = {
  name: 'User',
  endpoint: '/Users',
  description: 'User Account',
  schema: userSchema,
  extensions: [{ schema: enterpriseUserSchema, required: false }],
};

export const groupResourceType: ScimResourceType = {
  name: 'Group',
  endpoint: '/Groups',
  description: 'Group',
  schema: groupSchema,
  extensions: [],
};

export const resourceTypes: readonly ScimResourceType[] = [userResourceType, groupResourceType];

export function resourceTypeByName(name: ScimResourceTypeName): ScimResourceType {
  return name === 'User' ? userResourceType : groupResourceType;
}

/** All schemas served by `/Schemas`. */
export const schemas: readonly ScimSchema[] = [userSchema, groupSchema, enterpriseUserSchema];

/** Where an attribute lives: the schema that defines it (undefined for common attributes) and its definition. */
export interface ResolvedAttribute {
  /** Extension schema URN when the attribute belongs to an extension; undefined for core and common attributes. */
  readonly extension?: string;
  readonly attribute: ScimAttribute;
  readonly subAttribute?: ScimAttribute;
}

function findByName(list: readonly ScimAttribute[] | undefined, name: string): ScimAttribute | undefined {
  const lower = name.toLowerCase();
  return list?.find((a) => a.name.toLowerCase() === lower);
}

/**
 * Splits a schema-qualified attribute path (`urn:…:enterprise:2.0:User:manager.value`) into the schema
 * URN and the rest. The URN itself contains colons and dots, so match against the known schemas.
 */
export function splitSchemaPrefix(rt: ScimResourceType, path: string): { schema?: ScimSchema; rest: string } {
  const lower = path.toLowerCase();
  for (const schema of [rt.schema, ...rt.extensions.map((e) => e.schema)]) {
    const id = schema.id.toLowerCase();
    if (lower === id) return { schema, rest: '' };
    if (lower.startsWith(id + ':')) return { schema, rest: path.slice(id.length + 1) };
  }
  return { rest: path };
}

/**
 * Resolves an attribute path (`userName`, `name.givenName`, `emails.value`, `urn:…:User:userName`,
 * `urn:…:enterprise:2.0:User:department`) case-insensitively, RFC 7643 §2.1 / RFC 7644 §3.10.
 * Returns undefined when the path names nothing in the resource type.
 */
export function resolveAttribute(rt: ScimResourceType, path: string): ResolvedAttribute | undefined {
  const { schema, rest } = splitSchemaPrefix(rt, path);
  if (path.toLowerCase().startsWith('urn:') && !schema) return undefined;
  if (rest === '') return undefined;
  const dot = rest.indexOf('.');
  const head = dot === -1 ? rest : rest.slice(0, dot);
  const tail = dot === -1 ? undefined : rest.slice(dot + 1);
  let attribute: ScimAttribute | undefined;
  let extension: string | undefined;
  if (schema && schema !== rt.schema) {
    attribute = findByName(schema.attributes, head);
    extension = schema.id;
  } else {
    attribute = findByName(rt.schema.attributes, head) ?? findByName(commonAttributes, head);
  }
  if (!attribute) return undefined;
  if (tail === undefined) return { extension, attribute };
  if (tail.includes('.')) return undefined;
  const subAttribute = findByName(attribute.subAttributes, tail);
  if (!subAttribute) return undefined;
  return { extension, attribute, subAttribute };
}

/** Finds a top-level attribute (core or common) or an extension schema by its case-insensitive key. */
export function topLevelKey(rt: ScimResourceType, key: string):
  | { kind: 'attribute'; attribute: ScimAttribute }
  | { kind: 'extension'; schema: ScimSchema }
  | undefined {
  const lower = key.toLowerCase();
  const ext = rt.extensions.find((e) => e.schema.id.toLowerCase() === lower);
  if (ext) return { kind: 'extension', schema: ext.schema };
  const attribute = findByName(rt.schema.attributes, key) ?? findByName(commonAttributes, key);
  return attribute ? { kind: 'attribute', attribute } : undefined;
}

export { findByName as findAttributeByName };
