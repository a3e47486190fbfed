import { ScimError } from './errors.js';
import { findAttributeByName, topLevelKey } from './registry.js';
import type { ScimAttribute, ScimResource, ScimResourceType } from './schemas/types.js';

/**
 * Turns a client's POST/PUT body into the stored form of a resource (RFC 7643 §2, RFC 7644 §3.3, §3.5.1).
 *
 * Choices, applied the same way to every attribute and documented in the README:
 * - attribute names are matched case-insensitively and stored in their canonical case (RFC 7643 §2.1);
 * - readOnly attributes (`id`, `meta`, User `groups`) are ignored on input (RFC 7643 §2.2);
 * - `password` (writeOnly) is accepted and discarded: Provisio never stores it;
 * - attributes no schema defines are ignored, not rejected: IdPs send custom attributes freely and a
 *   400 would stop their whole provisioning cycle; they are not stored and never returned;
 * - `null` means unassigned (RFC 7644 §3.5.1); boolean strings ("True", "false") become booleans and
 *   numbers sent for string attributes become strings, because real IdPs send both (research §b);
 * - a value of the wrong shape (object for a string, text for a boolean) is a 400 `invalidValue`.
 */
export function normalizeResource(rt: ScimResourceType, body: unknown): ScimResource {
  if (!isPlainObject(body)) throw ScimError.invalidSyntax('Request body must be a JSON object');
  const out: ScimResource = {};
  for (const [key, value] of Object.entries(body)) {
    if (key.toLowerCase() === 'schemas') {
      validateSchemasMember(value);
      continue;
    }
    const target = topLevelKey(rt, key);
    if (!target) continue;
    if (target.kind === 'extension') {
      if (value === null || value === undefined) continue;
      if (!isPlainObject(value)) throw ScimError.invalidValue(`${target.schema.id} must be an object`);
      const ext: ScimResource = {};
      for (const [subKey, subValue] of Object.entries(value)) {
        const attribute = findAttributeByName(target.schema.attributes, subKey);
        if (!attribute || !isWritable(attribute)) continue;
        const normalized = normalizeValue(attribute, subValue, `${target.schema.id}:${attribute.name}`);
        if (normalized !== undefined) ext[attribute.name] = normalized;
      }
      if (Object.keys(ext).length > 0) out[target.schema.id] = ext;
      continue;
    }
    const attribute = target.attribute;
    if (!isWritable(attribute) || attribute.name === 'id') continue;
    const normalized = normalizeValue(attribute, value, attribute.name);
    if (normalized !== undefined) out[attribute.name] = normalized;
  }
  for (const attribute of rt.schema.attributes) {
    if (attribute.required && isMissing(out[attribute.name])) {
      throw ScimError.invalidValue(`Attribute "${attribute.name}" is required`);
    }
  }
  return out;
}

/** readOnly attributes are ignored on input; writeOnly ones (password) are accepted and dropped. */
function isWritable(attribute: ScimAttribute): boolean {
  return attribute.mutability === 'readWrite' || attribute.mutability === 'immutable';
}

function isMissing(value: unknown): boolean {
  return value === undefined || (typeof value === 'string' && value.trim() === '');
}

function validateSchemasMember(value: unknown): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value) || value.some((s) => typeof s !== 'string')) {
    throw ScimError.invalidSyntax('"schemas" must be an array of schema URIs');
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Normalises one attribute value by its definition; `undefined` means "unassigned". */
export function normalizeValue(attribute: ScimAttribute, value: unknown, label: string): unknown {
  if (value === null || value === undefined) return undefined;
  if (attribute.multiValued) {
    // A single value where an array is expected is accepted as a one-element array (lenient, common in the wild).
    const list = Array.isArray(value) ? value : [value];
    const items = list
      .map((item, i) => normalizeSingle(attribute, item, `${label}[${i}]`))
      .filter((item) => item !== undefined);
    return attribute.type === 'complex' ? keepOnePrimary(items as ScimResource[]) : items;
  }
  if (Array.isArray(value)) {
    // Entra sends some single-valued attributes as one-element arrays; more than one is a real error.
    if (value.length === 1) return normalizeSingle(attribute, value[0], label);
    throw ScimError.invalidValue(`Attribute "${label}" is single-valued; got an array`);
  }
  return normalizeSingle(attribute, value, label);
}

function normalizeSingle(attribute: ScimAttribute, value: unknown, label: string): unknown {
  if (value === null || value === undefined) return undefined;
  switch (attribute.type) {
    case 'complex': {
      if (!isPlainObject(value)) {
        // Entra sends enterprise `manager` as a bare id string; read it as `{ value }`.
        if (typeof value === 'string' && findAttributeByName(attribute.subAttributes, 'value')) return { value };
        throw ScimError.invalidValue(`Attribute "${label}" must be an object`);
      }
      const out: ScimResource = {};
      for (const [key, subValue] of Object.entries(value)) {
        const sub = findAttributeByName(attribute.subAttributes, key);
        if (!sub || sub.mutability === 'readOnly') continue;
        const normalized = normalizeSingle(sub, subValue, `${label}.${sub.name}`);
        if (normalized !== undefined) out[sub.name] = normalized;
      }
      return Object.keys(out).length > 0 ? out : undefined;
    }
    case 'boolean':
      return toBoolean(value, label);
    case 'integer':
    case 'decimal': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n) || (attribute.type === 'integer' && !Number.isInteger(n))) {
        throw ScimError.invalidValue(`Attribute "${label}" must be ${attribute.type === 'integer' ? 'an integer' : 'a number'}`);
      }
      return n;
    }
    case 'dateTime':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
        throw ScimError.invalidValue(`Attribute "${label}" must be an xsd:dateTime string`);
      }
      return value;
    default:
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      throw ScimError.invalidValue(`Attribute "${label}" must be a string`);
  }
}

/** Accepts JSON booleans and the strings IdPs send ("True", "false"); anything else is invalid. */
export function toBoolean(value: unknown, label: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  throw ScimError.invalidValue(`Attribute "${label}" must be a boolean`);
}

/**
 * RFC 7643 §2.4: "primary" true appears at most once. Rather than reject a whole provisioning request
 * for a duplicate flag, the first primary wins and the others are cleared.
 */
function keepOnePrimary(items: ScimResource[]): ScimResource[] {
  let seen = false;
  return items.map((item) => {
    if (item.primary !== true) return item;
    if (!seen) {
      seen = true;
      return item;
    }
    return { ...item, primary: false };
  });
}
