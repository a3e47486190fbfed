import { ScimError } from './errors.js';
import { checkResourceSize, checkStringValue, checkValueCount, type ValueLimits } from './limits.js';
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
 * With `limits`, string lengths, multi-valued counts and the stored size are checked in the same walk.
 */
export function normalizeResource(rt: ScimResourceType, body: unknown, limits?: ValueLimits): ScimResource {
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
        const normalized = normalizeValue(attribute, subValue, `${target.schema.id}:${attribute.name}`, limits);
        if (normalized !== undefined) ext[attribute.name] = normalized;
      }
      if (Object.keys(ext).length > 0) out[target.schema.id] = ext;
      continue;
    }
    const attribute = target.attribute;
    if (!isWritable(attribute) || attribute.name === 'id') continue;
    const normalized = normalizeValue(attribute, value, attribute.name, limits);
    if (normalized !== undefined) out[attribute.name] = normalized;
  }
  for (const attribute of rt.schema.attributes) {
    if (attribute.required && isMissing(out[attribute.name])) {
      throw ScimError.invalidValue(`Attribute "${attribute.name}" is required`);
    }
  }
  if (limits) checkResourceSize(out, limits);
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

/** Growth a PATCH may add to a resource stored over the limits before they existed (see `normalizePatched`). */
const GRANDFATHERED_GROWTH_BYTES = 1024;

/**
 * `normalizeResource` for the result of a PATCH of `stored`. A resource stored before the input limits
 * existed may exceed them, and a PATCH that does not touch the oversized value (Entra's `active: false`
 * above all: deprovisioning must never be blocked) would otherwise be refused for a value the client did
 * not send. So when the limits refuse the result, the stored resource is checked too: if it was already
 * over them, the result is accepted unless it grows by more than 1 KB.
 */
export function normalizePatched(rt: ScimResourceType, stored: ScimResource, patched: unknown, limits: ValueLimits): ScimResource {
  try {
    return normalizeResource(rt, patched, limits);
  } catch (err) {
    if (!(err instanceof ScimError) || !isPlainObject(patched)) throw err;
    try {
      normalizeResource(rt, stored, limits);
    } catch {
      const grows = JSON.stringify(patched).length - JSON.stringify(stored).length;
      if (grows <= GRANDFATHERED_GROWTH_BYTES) return normalizeResource(rt, patched);
    }
    throw err;
  }
}

/** Normalises one attribute value by its definition; `undefined` means "unassigned". */
export function normalizeValue(attribute: ScimAttribute, value: unknown, label: string, limits?: ValueLimits): unknown {
  if (value === null || value === undefined) return undefined;
  if (attribute.multiValued) {
    // A single value where an array is expected is accepted as a one-element array (lenient, common in the wild).
    const list = Array.isArray(value) ? value : [value];
    if (limits) checkValueCount(attribute, list.length, label, limits);
    const items = list
      .map((item, i) => normalizeSingle(attribute, item, `${label}[${i}]`, limits))
      .filter((item) => item !== undefined);
    return attribute.type === 'complex' ? keepOnePrimary(items as ScimResource[]) : items;
  }
  if (Array.isArray(value)) {
    // Entra sends some single-valued attributes as one-element arrays; more than one is a real error.
    if (value.length === 1) return normalizeSingle(attribute, value[0], label, limits);
    throw ScimError.invalidValue(`Attribute "${label}" is single-valued; got an array`);
  }
  return normalizeSingle(attribute, value, label, limits);
}

function normalizeSingle(attribute: ScimAttribute, value: unknown, label: string, limits: ValueLimits | undefined): unknown {
  if (value === null || value === undefined) return undefined;
  switch (attribute.type) {
    case 'complex': {
      if (!isPlainObject(value)) {
        // Entra sends enterprise `manager` as a bare id string; read it as `{ value }`.
        const valueAttribute = typeof value === 'string' ? findAttributeByName(attribute.subAttributes, 'value') : undefined;
        if (valueAttribute) return { value: normalizeSingle(valueAttribute, value, `${label}.value`, limits) };
        throw ScimError.invalidValue(`Attribute "${label}" must be an object`);
      }
      const out: ScimResource = {};
      for (const [key, subValue] of Object.entries(value)) {
        const sub = findAttributeByName(attribute.subAttributes, key);
        if (!sub || sub.mutability === 'readOnly') continue;
        const normalized = normalizeSingle(sub, subValue, `${label}.${sub.name}`, limits);
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
      if (limits && typeof value === 'string') checkStringValue(attribute, value, label, limits);
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
        throw ScimError.invalidValue(`Attribute "${label}" must be an xsd:dateTime string`);
      }
      return value;
    default: {
      const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
      if (text === undefined) throw ScimError.invalidValue(`Attribute "${label}" must be a string`);
      if (limits) checkStringValue(attribute, text, label, limits);
      return text;
    }
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
