import type { Filter } from 'scim2-parse-filter';
import { ScimError } from './errors.js';
import { findAttributeByName } from './registry.js';
import type { ScimAttribute } from './schemas/types.js';

/*
 * In-memory evaluation of a PATCH value filter (`emails[type eq "work"]`) against ONE element of a
 * multi-valued attribute, RFC 7644 §3.4.2.2 operator semantics. List filtering never runs here: it is
 * compiled to SQL (STYLE habit 7). scim2-parse-filter's own `filter()` ignores caseExact, hence this file.
 */

type Comparable = string | number | boolean;

/** Reads `key` from an element object case-insensitively (stored JSON is canonical, request JSON may not be). */
function readKey(element: Record<string, unknown>, key: string): unknown {
  if (key in element) return element[key];
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(element)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function isPresent(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** Coerces a filter literal to the attribute's type; booleans also accept `"True"`/`"false"` (Entra, B3). */
function literalFor(def: ScimAttribute, comp: boolean | null | number | string): Comparable | null {
  if (comp === null) return null;
  if (def.type === 'boolean' && typeof comp === 'string') {
    const l = comp.trim().toLowerCase();
    if (l === 'true') return true;
    if (l === 'false') return false;
  }
  return comp;
}

function compareOne(def: ScimAttribute, op: string, actual: unknown, comp: Comparable | null): boolean {
  if (comp === null) {
    // `attr eq null` matches an unassigned attribute; RFC 7643 §2.5 treats null as unassigned.
    if (op === 'eq') return !isPresent(actual);
    if (op === 'ne') return isPresent(actual);
    throw ScimError.invalidFilter(`Operator "${op}" cannot compare with null`);
  }
  if (actual === undefined || actual === null) return op === 'ne';
  if (def.type === 'boolean' || def.type === 'binary') {
    // RFC 7644 §3.4.2.2: gt/ge/lt/le (and substring matches) on boolean or binary are invalidFilter.
    if (op !== 'eq' && op !== 'ne') throw ScimError.invalidFilter(`Operator "${op}" is not allowed on ${def.type} attribute "${def.name}"`);
    const equal = def.type === 'boolean' ? actual === comp : String(actual) === String(comp);
    return op === 'eq' ? equal : !equal;
  }
  if ((def.type === 'integer' || def.type === 'decimal') && ['eq', 'ne', 'gt', 'ge', 'lt', 'le'].includes(op)) {
    return compareOrdered(op, Number(actual), Number(comp));
  }
  let a = String(actual);
  let c = String(comp);
  if (def.type === 'dateTime' && ['eq', 'ne', 'gt', 'ge', 'lt', 'le'].includes(op)) {
    const ta = Date.parse(a);
    const tc = Date.parse(c);
    if (!Number.isNaN(ta) && !Number.isNaN(tc)) {
      return compareOrdered(op, ta, tc);
    }
  }
  // RFC 7644 §3.4.2.2: string comparisons honour the attribute's caseExact characteristic.
  if (!def.caseExact) {
    a = a.toLowerCase();
    c = c.toLowerCase();
  }
  switch (op) {
    case 'co': return a.includes(c);
    case 'sw': return a.startsWith(c);
    case 'ew': return a.endsWith(c);
    default: return compareOrdered(op, a, c);
  }
}

function compareOrdered<T extends string | number>(op: string, a: T, c: T): boolean {
  switch (op) {
    case 'eq': return a === c;
    case 'ne': return a !== c;
    case 'gt': return a > c;
    case 'ge': return a >= c;
    case 'lt': return a < c;
    case 'le': return a <= c;
    default: throw ScimError.invalidFilter(`Unknown filter operator "${op}"`);
  }
}

/**
 * Evaluates a value filter against one element of the multi-valued `attribute` (RFC 7644 §3.4.2.2):
 * eq ne co sw ew gt ge lt le pr, and/or/not, honouring each sub-attribute's `caseExact`. For a
 * multi-valued attribute without sub-attributes the element itself is `value`.
 */
export function matchesValueFilter(attribute: ScimAttribute, element: unknown, filter: Filter): boolean {
  switch (filter.op) {
    case 'and':
      return filter.filters.every((f) => matchesValueFilter(attribute, element, f));
    case 'or':
      return filter.filters.some((f) => matchesValueFilter(attribute, element, f));
    case 'not':
      return !matchesValueFilter(attribute, element, filter.filter);
    case '[]':
      throw ScimError.invalidFilter(`Nested value filters are not allowed inside ${attribute.name}[...]`);
    default:
      break;
  }
  let def: ScimAttribute | undefined;
  let actual: unknown;
  if (attribute.subAttributes) {
    def = findAttributeByName(attribute.subAttributes, filter.attrPath);
    actual = element !== null && typeof element === 'object' && !Array.isArray(element)
      ? readKey(element as Record<string, unknown>, def?.name ?? filter.attrPath)
      : undefined;
  } else if (filter.attrPath.toLowerCase() === 'value') {
    def = attribute;
    actual = element;
  }
  if (!def) throw ScimError.invalidFilter(`Unknown attribute "${filter.attrPath}" in the value filter of ${attribute.name}`);
  if (filter.op === 'pr') return isPresent(actual);
  const comp = literalFor(def, filter.compValue);
  // A multi-valued sub-attribute matches when any of its values does (RFC 7644 §3.4.2.2).
  if (Array.isArray(actual)) return actual.some((v) => compareOne(def, filter.op, v, comp));
  return compareOne(def, filter.op, actual, comp);
}
