import { findAttributeByName, topLevelKey } from '../registry.js';
import type { ScimAttribute, ScimResourceType, ScimSchema } from '../schemas/types.js';
import { parseEntraRoleString } from './entra.js';
import { isPlainObject } from './json.js';

/*
 * Schema-driven value coercion for the odd values IdPs send (STYLE conventions: bodies are normalised,
 * then validated). Every rewrite here only touches a value that would otherwise be invalid for the
 * schema, so it cannot change the meaning of an RFC-conformant request.
 */

/** `"True"`/`"false"`/` TRUE ` → boolean (Entra default job: `"active":"False"`, validator: `"primary":"True"`). */
function coerceScalar(def: ScimAttribute, value: unknown): unknown {
  let v = value;
  // Single-element arrays around scalars (Entra, research §b [B3]).
  if (Array.isArray(v) && v.length === 1 && (v[0] === null || typeof v[0] !== 'object')) v = v[0];
  if (def.type === 'boolean' && typeof v === 'string') {
    const l = v.trim().toLowerCase();
    if (l === 'true') return true;
    if (l === 'false') return false;
  }
  return v;
}

function coerceComplexObject(def: ScimAttribute, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const sub = findAttributeByName(def.subAttributes, k);
    out[k] = sub && v !== null ? coerceScalar(sub, v) : v;
  }
  return out;
}

/** One element of a multi-valued attribute. */
export function coerceElement(def: ScimAttribute, value: unknown): unknown {
  if (def.type !== 'complex') return coerceScalar(def, value);
  if (def.name === 'roles') {
    // Entra AppRoleAssignmentsComplex: the role as a JSON string, bare or inside `value` (SCIM-SDK#516).
    if (typeof value === 'string') return parseEntraRoleString(value) ?? { value };
    if (isPlainObject(value) && typeof value.value === 'string') {
      const role = parseEntraRoleString(value.value);
      if (role) {
        const { value: _json, ...rest } = value;
        return coerceComplexObject(def, { ...rest, ...role });
      }
    }
  }
  // A bare scalar for a complex value with a `value` sub-attribute: `"emails":["a@x"]`, `"roles":["Admin"]`.
  if ((typeof value === 'string' || typeof value === 'number') && findAttributeByName(def.subAttributes, 'value')) return { value };
  return isPlainObject(value) ? coerceComplexObject(def, value) : value;
}

/** A value for the whole attribute `def` (a list for multi-valued attributes, one value otherwise). */
export function coerceAttributeValue(def: ScimAttribute, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (def.multiValued) {
    // A lone value for a multi-valued attribute is a list of one.
    return (Array.isArray(value) ? value : [value]).map((el) => coerceElement(def, el));
  }
  if (def.type !== 'complex') return coerceScalar(def, value);
  let v = value;
  if (Array.isArray(v) && v.length === 1) v = v[0];
  // Enterprise `manager` sent as a bare id: {"op":"Add","path":"…:manager","value":"271"} (research §b [J6]).
  if ((typeof v === 'string' || typeof v === 'number') && findAttributeByName(def.subAttributes, 'value')) return { value: String(v) };
  return isPlainObject(v) ? coerceComplexObject(def, v) : v;
}

/** An object of attributes of `schema` (an extension object), each coerced by its definition. */
export function coerceSchemaObject(schema: ScimSchema, value: unknown): unknown {
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const def = findAttributeByName(schema.attributes, k);
    out[k] = def ? coerceAttributeValue(def, v) : v;
  }
  return out;
}

/**
 * Coerces a POST/PUT resource body per schema (`"active":"false"` → false, `"primary":"True"` → true,
 * bare `manager` id → `{value}`, Entra role strings …). Unknown keys are left for validation to judge.
 * Returns a new object; non-objects are returned unchanged.
 */
export function coerceResourceBody(rt: ScimResourceType, body: unknown): unknown {
  if (!isPlainObject(body)) return body;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    const found = topLevelKey(rt, k);
    if (!found) out[k] = v;
    else if (found.kind === 'extension') out[k] = coerceSchemaObject(found.schema, v);
    else out[k] = coerceAttributeValue(found.attribute, v);
  }
  return out;
}
