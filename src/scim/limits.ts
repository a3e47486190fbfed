import type { Filter } from 'scim2-parse-filter';
import type { InputLimits } from '../config.js';
import { ScimError } from './errors.js';
import { findAttributeByName, groupResourceType, resolveAttribute, userResourceType } from './registry.js';
import type { ScimAttribute, ScimResourceType } from './schemas/types.js';

/*
 * What one request may make us compute (filters, attribute lists) or store (values, resources), checked
 * before any SQL is built or run. Every refusal names the environment variable of the limit it hit, so an
 * operator knows which knob a legitimate client needs turned (docs/configuration.md).
 */

/** The filter limits, for parsers that do not need the value limits. */
export type FilterLimits = Pick<InputLimits, 'filterMaxTerms' | 'filterMaxDepth' | 'filterMaxLength' | 'filterMaxValueLength'>;

/** The value limits applied to a POST/PUT body or a patched resource. */
export type ValueLimits = Pick<InputLimits, 'maxIndexedValueLength' | 'maxValueLength' | 'maxMultiValues' | 'maxResourceBytes'>;

/** `config.scim.limits` defaults, for callers without settings (admin-configured paths, unit tests). */
export const DEFAULT_FILTER_LIMITS: FilterLimits = {
  filterMaxTerms: 50,
  filterMaxDepth: 10,
  filterMaxLength: 4096,
  filterMaxValueLength: 1024,
};

/** The variable each limit is read from (src/config.ts), named in every refusal. */
export const LIMIT_VARIABLES: Record<keyof InputLimits, string> = {
  filterMaxTerms: 'SCIM_FILTER_MAX_TERMS',
  filterMaxDepth: 'SCIM_FILTER_MAX_DEPTH',
  filterMaxLength: 'SCIM_FILTER_MAX_LENGTH',
  filterMaxValueLength: 'SCIM_FILTER_MAX_VALUE_LENGTH',
  maxIndexedValueLength: 'SCIM_MAX_INDEXED_VALUE_LENGTH',
  maxValueLength: 'SCIM_MAX_VALUE_LENGTH',
  maxMultiValues: 'SCIM_MAX_MULTI_VALUES',
  maxResourceBytes: 'SCIM_MAX_RESOURCE_BYTES',
};

function limitText(limits: Partial<InputLimits>, key: keyof InputLimits): string {
  return `the limit is ${limits[key]} (${LIMIT_VARIABLES[key]})`;
}

/** The comparison operators as two lower-cased char codes (`a << 8 | b`): no string per word scanned. */
const OPERATORS = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le', 'pr'].map((w) => (w.charCodeAt(0) << 8) | w.charCodeAt(1)));
const NOT = ['n', 'o', 't'].map((c) => c.charCodeAt(0));

/** Letters, digits and the other characters of attribute paths and numbers (`.`, `_`, `:`, `$`, `-`, `+`). */
function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 46 || c === 95 || c === 58 || c === 36 || c === 45 || c === 43;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * Refuses a filter text by its length, then by one linear lexical pass (no regex, no allocation per
 * character) counting comparison operators and the nesting of `(`, `[` and bare `not`s — before the text
 * reaches scim2-parse-filter, whose recursive descent would otherwise build a huge tree or overflow the
 * stack (`not (` 5,000 deep does). RFC 7644 §3.4.2.2 grammar; quoted strings are skipped.
 */
export function checkFilterText(text: string, limits: FilterLimits, what = 'Filter'): void {
  if (text.length > limits.filterMaxLength) {
    throw ScimError.invalidFilter(`${what} is ${text.length} characters long; ${limitText(limits, 'filterMaxLength')}`);
  }
  let terms = 0;
  let depth = 0;
  let bareNots = 0;
  let maxDepth = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      i++;
      while (i < n && text.charCodeAt(i) !== 34) i += text.charCodeAt(i) === 92 ? 2 : 1;
      i++;
    } else if (c === 40 || c === 91) {
      depth++;
      if (depth + bareNots > maxDepth) maxDepth = depth + bareNots;
      i++;
    } else if (c === 41 || c === 93) {
      depth--;
      i++;
    } else if (isWordChar(c)) {
      let j = i + 1;
      while (j < n && isWordChar(text.charCodeAt(j))) j++;
      // `| 32` lower-cases ASCII letters and maps no other word character onto one.
      if (j - i === 2 && OPERATORS.has(((c | 32) << 8) | (text.charCodeAt(i + 1) | 32))) {
        terms++;
        bareNots = 0;
      } else if (j - i === 3 && (c | 32) === NOT[0] && (text.charCodeAt(i + 1) | 32) === NOT[1] && (text.charCodeAt(i + 2) | 32) === NOT[2]) {
        // `not (` is one level, counted by its parenthesis; `not not a eq 1` nests without one.
        let k = j;
        while (k < n && isSpace(text.charCodeAt(k))) k++;
        if (text.charCodeAt(k) !== 40) {
          bareNots++;
          if (depth + bareNots > maxDepth) maxDepth = depth + bareNots;
        }
      }
      i = j;
    } else {
      i++;
    }
  }
  if (terms > limits.filterMaxTerms) throw tooManyTerms(what, terms, limits);
  if (maxDepth > limits.filterMaxDepth) throw tooDeep(what, maxDepth, limits);
}

function tooManyTerms(what: string, terms: number, limits: FilterLimits): ScimError {
  return ScimError.invalidFilter(`${what} has ${terms} comparisons; ${limitText(limits, 'filterMaxTerms')}`);
}

function tooDeep(what: string, depth: number, limits: FilterLimits): ScimError {
  return ScimError.invalidFilter(`${what} nests ${depth} levels deep; ${limitText(limits, 'filterMaxDepth')}`);
}

/**
 * Verifies a parsed filter: comparisons (those inside `[...]` included), nesting of `and`/`or`/`not`/`[...]`
 * and the length of each string comparison value. The tree is already bounded by `checkFilterText`.
 */
export function checkFilterTree(filter: Filter, limits: FilterLimits, what = 'Filter'): void {
  const state = { terms: 0, depth: 0 };
  const visit = (f: Filter, depth: number): void => {
    switch (f.op) {
      case 'and':
      case 'or':
        for (const child of f.filters) visit(child, depth + 1);
        return;
      case 'not':
        visit(f.filter, depth + 1);
        return;
      case '[]':
        visit(f.valFilter, depth + 1);
        return;
      default:
        state.terms++;
        if (depth > state.depth) state.depth = depth;
        if (f.op !== 'pr' && typeof f.compValue === 'string' && f.compValue.length > limits.filterMaxValueLength) {
          throw ScimError.invalidFilter(
            `${what} compares "${f.attrPath}" with a value of ${f.compValue.length} characters; ${limitText(limits, 'filterMaxValueLength')}`,
          );
        }
    }
  };
  visit(filter, 0);
  if (state.terms > limits.filterMaxTerms) throw tooManyTerms(what, state.terms, limits);
  if (state.depth > limits.filterMaxDepth) throw tooDeep(what, state.depth, limits);
}

/**
 * `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5): their total length, before any path is split or
 * resolved. Not the number of names: a client may list every attribute of a User explicitly (about 65),
 * and resolving a name costs no more than reading it.
 */
export function checkAttributeList(name: string, length: number, limits: FilterLimits): void {
  if (length > limits.filterMaxLength) {
    throw ScimError.invalidFilter(`"${name}" is ${length} characters long; ${limitText(limits, 'filterMaxLength')}`);
  }
}

/** A PATCH `path` (RFC 7644 §3.5.2) is refused by length before it is split or parsed. */
export function checkPatchPathLength(raw: string, limits: FilterLimits): void {
  if (raw.length <= limits.filterMaxLength) return;
  const detail = `PATCH path is ${raw.length} characters long; ${limitText(limits, 'filterMaxLength')}`;
  throw raw.includes('[') ? ScimError.invalidFilter(detail) : ScimError.invalidPath(detail);
}

/** A key of `obj` matched case-insensitively, as RFC 7643 §2.1 asks of message attributes too. */
function member(obj: Record<string, unknown>, name: string): unknown {
  if (name in obj) return obj[name];
  for (const key of Object.keys(obj)) if (key.toLowerCase() === name) return obj[key];
  return undefined;
}

/**
 * Refuses a PATCH body (RFC 7644 §3.5.2) whose `path`s are too long or carry a value filter over the limits,
 * by the same lexical pass as `checkFilterText` and before the service reads the resource. A shallow look at
 * `Operations` only; the body's shape and the parsed filters are checked when the operations are applied.
 */
export function checkPatchPaths(body: unknown, limits: FilterLimits): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
  const operations = member(body as Record<string, unknown>, 'operations');
  if (!Array.isArray(operations)) return;
  operations.forEach((op: unknown, i) => {
    if (typeof op !== 'object' || op === null || Array.isArray(op)) return;
    const path = member(op as Record<string, unknown>, 'path');
    if (typeof path !== 'string') return;
    try {
      checkPatchPathLength(path, limits);
      const open = path.indexOf('[');
      if (open === -1) return;
      const close = path.lastIndexOf(']');
      checkFilterText(path.slice(open + 1, close > open ? close : undefined), limits, 'PATCH path filter');
    } catch (e) {
      // The same prefix as the errors of applyPatch, without echoing a path that may be megabytes long.
      if (e instanceof ScimError) throw new ScimError(e.status, `Operations[${i}]: ${e.message}`, e.scimType, e.headers);
      throw e;
    }
  });
}

/** `sortBy` is one attribute path; a longer one than a filter may be is refused before it is resolved. */
export function checkSortBy(sortBy: string, limits: FilterLimits): void {
  if (sortBy.length > limits.filterMaxLength) {
    throw ScimError.invalidValue(`"sortBy" is ${sortBy.length} characters long; ${limitText(limits, 'filterMaxLength')}`);
  }
}

/** Years PostgreSQL's `timestamptz` and JavaScript's `toISOString()` both render as `YYYY-…` (RFC 3339 §5.6). */
const MIN_DATE = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_DATE = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * Parses a dateTime comparison value (RFC 7643 §2.3.5); undefined when it is not one or falls outside
 * years 0001–9999, which PostgreSQL would refuse (`timestamptz` spans 4713 BC–294276 AD, but
 * `toISOString()` writes other years as `+010000-…`, which it cannot read).
 */
export function parseFilterDateTime(text: string): Date | undefined {
  if (text.length > 64) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms) || ms < MIN_DATE || ms > MAX_DATE) return undefined;
  return new Date(ms);
}

/**
 * Attributes PostgreSQL indexes with btree (src/db/migrations): their length counts in UTF-8 bytes, since
 * an index row over ~2,700 bytes is refused by the database. User `displayName` is not indexed today but
 * is held to the same limit, so User and Group names behave alike.
 */
const INDEXED: ReadonlySet<ScimAttribute> = new Set(
  [
    findAttributeByName(userResourceType.schema.attributes, 'userName'),
    findAttributeByName(userResourceType.schema.attributes, 'displayName'),
    findAttributeByName(findAttributeByName(userResourceType.schema.attributes, 'emails')?.subAttributes, 'value'),
    findAttributeByName(groupResourceType.schema.attributes, 'displayName'),
    resolveAttribute(userResourceType, 'externalId')?.attribute,
    resolveAttribute(groupResourceType, 'externalId')?.attribute,
  ].filter((a): a is ScimAttribute => a !== undefined),
);

/**
 * Group `members` are rows of a membership table, changed set-wise, not part of the stored JSON: a request
 * may carry as many as its body holds (`SCIM_MAX_BODY_BYTES`), as before these limits (IdPs push
 * 1,000-member PATCHes).
 */
const GROUP_MEMBERS = findAttributeByName(groupResourceType.schema.attributes, 'members');

/** Refuses a multi-valued attribute (Group `members` excepted) with more entries than `SCIM_MAX_MULTI_VALUES` (400 tooMany). */
export function checkValueCount(attribute: ScimAttribute, count: number, label: string, limits: Pick<InputLimits, 'maxMultiValues'>): void {
  if (count > limits.maxMultiValues && attribute !== GROUP_MEMBERS) {
    throw ScimError.tooMany(`Attribute "${label}" has ${count} values; ${limitText(limits, 'maxMultiValues')}`);
  }
}

/**
 * Refuses a string attribute value over its limit: indexed attributes by UTF-8 bytes
 * (`SCIM_MAX_INDEXED_VALUE_LENGTH`), every other by characters (`SCIM_MAX_VALUE_LENGTH`).
 */
export function checkStringValue(attribute: ScimAttribute, value: string, label: string, limits: ValueLimits): void {
  if (INDEXED.has(attribute)) {
    const max = limits.maxIndexedValueLength;
    // A UTF-16 code unit is 1 to 3 UTF-8 bytes: count bytes only when the length alone cannot decide.
    if (value.length * 3 <= max) return;
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > max) {
      throw ScimError.invalidValue(`Attribute "${label}" is ${bytes} bytes long (UTF-8); ${limitText(limits, 'maxIndexedValueLength')}`);
    }
    return;
  }
  if (value.length > limits.maxValueLength) {
    throw ScimError.invalidValue(`Attribute "${label}" is ${value.length} characters long; ${limitText(limits, 'maxValueLength')}`);
  }
}

/**
 * Refuses a resource whose stored JSON would exceed `SCIM_MAX_RESOURCE_BYTES`. Group `members` are not
 * part of it (they are rows of their own). One `JSON.stringify` of a resource already within the value limits.
 */
export function checkResourceSize(resource: Record<string, unknown>, limits: ValueLimits): void {
  const stored = resource.members !== undefined ? { ...resource, members: undefined } : resource;
  const json = JSON.stringify(stored);
  const max = limits.maxResourceBytes;
  if (json.length * 3 <= max) return;
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > max) {
    throw ScimError.invalidValue(`The resource is ${bytes} bytes as JSON; ${limitText(limits, 'maxResourceBytes')}`);
  }
}
