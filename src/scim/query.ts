import { parse, type Filter } from 'scim2-parse-filter';
import type { ScimSettings } from '../config.js';
import { ScimError } from './errors.js';
import { checkAttributeList, checkFilterText, checkFilterTree, checkSortBy, DEFAULT_FILTER_LIMITS, type FilterLimits } from './limits.js';
import { isPlainObject } from './resource.js';

/** A list request, from GET query parameters or a POST `/.search` body (RFC 7644 §3.4.2, §3.4.3). */
export interface ListQuery {
  readonly filter?: Filter;
  readonly sortBy?: string;
  readonly sortOrder: 'ascending' | 'descending';
  /** 1-based (RFC 7644 §3.4.2.4). */
  readonly startIndex: number;
  readonly count: number;
  /**
   * RFC 9865 cursor paging: `''` asks for the first page, anything else is a `nextCursor`/`previousCursor`
   * from an earlier page; undefined means index paging (`startIndex`).
   */
  readonly cursor?: string;
  readonly attributes?: readonly string[];
  readonly excludedAttributes?: readonly string[];
}

/** Attribute selection only, for GET by id and write responses (RFC 7644 §3.9). */
export interface Projection {
  readonly attributes?: readonly string[];
  readonly excludedAttributes?: readonly string[];
}

type Params = Record<string, unknown>;

/**
 * Parses a SCIM filter string into an AST; any parse failure is a 400 invalidFilter. The limits are
 * checked on the text before parsing (a pathological filter never reaches the parser) and on the tree.
 */
export function parseFilter(text: string, limits: FilterLimits = DEFAULT_FILTER_LIMITS): Filter {
  checkFilterText(text, limits);
  if (text.trim() === '') throw ScimError.invalidFilter('Filter is empty');
  let filter: Filter;
  try {
    filter = parse(text);
  } catch (err) {
    throw ScimError.invalidFilter(`Invalid filter "${text}": ${(err as Error).message}`);
  }
  checkFilterTree(filter, limits);
  return filter;
}

/** Reads a parameter case-insensitively (Entra and Okta vary the case of `startIndex`/`count`). */
function param(params: Params, name: string): unknown {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(params)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

function stringParam(params: Params, name: string): string | undefined {
  const value = param(params, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(',');
  throw ScimError.invalidValue(`"${name}" must be a string`);
}

function integerParam(params: Params, name: string): number | undefined {
  const value = param(params, name);
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw ScimError.invalidValue(`"${name}" must be an integer, got ${JSON.stringify(value)}`);
  return n;
}

/** Splits `a,b,emails[value co ","]` at the commas outside value filters and their quoted strings. */
function splitAttributeList(text: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '[') depth++;
    else if (c === ']') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      names.push(text.slice(start, i));
      start = i + 1;
    }
  }
  names.push(text.slice(start));
  return names;
}

/** `attributes=a,b` on the query string or `"attributes":["a","b"]` in a search body. */
function listParam(params: Params, name: string, limits: FilterLimits): string[] | undefined {
  const value = param(params, name);
  if (value === undefined || value === null) return undefined;
  const parts = Array.isArray(value) ? value : [value];
  if (parts.some((p) => typeof p !== 'string')) throw ScimError.invalidValue(`"${name}" must be a list of attribute names`);
  let length = parts.length - 1;
  for (const p of parts as string[]) length += p.length;
  checkAttributeList(name, length, limits);
  const names = (parts as string[]).flatMap(splitAttributeList).map((p) => p.trim()).filter((p) => p !== '');
  return names.length > 0 ? names : undefined;
}

/** Parses `attributes`/`excludedAttributes`; giving both is ambiguous and rejected. */
export function parseProjection(params: Params, limits: FilterLimits): Projection {
  const attributes = listParam(params, 'attributes', limits);
  const excludedAttributes = listParam(params, 'excludedAttributes', limits);
  if (attributes && excludedAttributes) {
    throw ScimError.invalidValue('"attributes" and "excludedAttributes" cannot be used together');
  }
  return { attributes, excludedAttributes };
}

/**
 * Parses list parameters. RFC 7644 §3.4.2.4: a `startIndex` below 1 is read as 1, a negative `count`
 * as 0, and a `count` above the server's maximum is capped (not an error); non-integers are a 400.
 */
export function parseListQuery(params: Params, settings: ScimSettings): ListQuery {
  const filterText = stringParam(params, 'filter');
  const sortOrderText = stringParam(params, 'sortOrder');
  let sortOrder: ListQuery['sortOrder'] = 'ascending';
  if (sortOrderText !== undefined) {
    const lower = sortOrderText.toLowerCase();
    if (lower !== 'ascending' && lower !== 'descending') {
      throw ScimError.invalidValue('"sortOrder" must be "ascending" or "descending"');
    }
    sortOrder = lower;
  }
  const startIndexParam = integerParam(params, 'startIndex');
  const startIndex = Math.max(1, startIndexParam ?? 1);
  const cursor = stringParam(params, 'cursor');
  if (cursor !== undefined && startIndexParam !== undefined) {
    throw ScimError.invalidValue('"cursor" and "startIndex" cannot be used together: a query pages by cursor (RFC 9865) or by index');
  }
  const count = Math.min(settings.maxPageSize, Math.max(0, integerParam(params, 'count') ?? settings.defaultPageSize));
  const sortByText = stringParam(params, 'sortBy');
  if (sortByText !== undefined) checkSortBy(sortByText, settings.limits);
  const sortBy = sortByText?.trim() || undefined;
  return {
    filter: filterText === undefined ? undefined : parseFilter(filterText, settings.limits),
    sortBy,
    sortOrder,
    startIndex,
    count,
    ...(cursor !== undefined ? { cursor: cursor.trim() } : {}),
    ...parseProjection(params, settings.limits),
  };
}

/** Validates a POST `/.search` body (RFC 7644 §3.4.3) and returns its parameters. */
export function searchRequestParams(body: unknown): Params {
  if (body === undefined || body === null) return {};
  if (!isPlainObject(body)) throw ScimError.invalidSyntax('Search request body must be a JSON object');
  return body;
}
