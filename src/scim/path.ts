import { parse, type Filter } from 'scim2-parse-filter';
import { ScimError } from './errors.js';
import { checkFilterText, checkFilterTree, checkPatchPathLength, DEFAULT_FILTER_LIMITS, type FilterLimits } from './limits.js';
import { findAttributeByName, resolveAttribute, splitSchemaPrefix } from './registry.js';
import type { ScimAttribute, ScimResourceType, ScimSchema } from './schemas/types.js';

/**
 * A parsed PATCH `path` (RFC 7644 §3.5.2: `PATH = attrPath / valuePath [subAttr]`), resolved against a
 * resource type. Filter attribute names are rewritten to the canonical sub-attribute names.
 */
export type PatchPath =
  | {
    /** The whole extension object, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`. */
    readonly kind: 'extension';
    readonly raw: string;
    readonly schema: ScimSchema;
  }
  | {
    readonly kind: 'attribute';
    readonly raw: string;
    /** Extension schema URN when the attribute lives under that key; undefined for core and common attributes. */
    readonly extension?: string;
    readonly attribute: ScimAttribute;
    /** The value selection filter of `attr[filter]`, relative to one element of `attribute`. */
    readonly filter?: Filter;
    readonly subAttribute?: ScimAttribute;
  };

/** Index of the first occurrence of `ch` outside double-quoted strings, or -1. */
function indexOutsideQuotes(text: string, ch: string, from = 0): number {
  let quoted = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === ch) {
      return i;
    }
  }
  return -1;
}

/**
 * Parses a filter with scim2-parse-filter, working around two of its tokeniser bugs (STACK.md): string
 * literals are swapped for placeholders (it doubles backslashes) and `$ref` for a plain word (it cannot
 * tokenise `$`). Its plain `Error`s become `ScimError.invalidFilter`. The limits are checked on the text
 * before parsing and on the tree after.
 */
export function parseScimFilter(text: string, limits: FilterLimits = DEFAULT_FILTER_LIMITS, what = 'Filter'): Filter {
  checkFilterText(text, limits, what);
  const literals: string[] = [];
  let masked = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) throw ScimError.invalidFilter(`Unterminated string in filter: ${text}`);
      const literal = text.slice(i, j + 1);
      try {
        literals.push(JSON.parse(literal) as string);
      } catch {
        throw ScimError.invalidFilter(`Invalid string literal ${literal} in filter`);
      }
      masked += `"#${literals.length - 1}"`;
      i = j + 1;
    } else {
      masked += c;
      i++;
    }
  }
  masked = masked.replace(/\$ref\b/gi, 'dollar__ref');
  let ast: Filter;
  try {
    ast = parse(masked);
  } catch (e) {
    throw ScimError.invalidFilter(`Invalid filter "${text}": ${(e as Error).message}`);
  }
  const filter = restore(ast, literals);
  checkFilterTree(filter, limits, what);
  return filter;
}

function restoreAttrPath(p: string): string {
  return p.replace(/dollar__ref/gi, '$ref');
}

function restore(f: Filter, literals: readonly string[]): Filter {
  switch (f.op) {
    case 'and':
    case 'or':
      return { op: f.op, filters: f.filters.map((x) => restore(x, literals)) };
    case 'not':
      return { op: 'not', filter: restore(f.filter, literals) };
    case '[]':
      return { op: '[]', attrPath: restoreAttrPath(f.attrPath), valFilter: restore(f.valFilter, literals) };
    case 'pr':
      return { op: 'pr', attrPath: restoreAttrPath(f.attrPath) };
    default: {
      let compValue = f.compValue;
      // Every quoted literal was masked, so any string compValue is a placeholder "#n".
      if (typeof compValue === 'string' && /^#\d+$/.test(compValue)) {
        compValue = literals[Number(compValue.slice(1))] ?? compValue;
      }
      return { op: f.op, attrPath: restoreAttrPath(f.attrPath), compValue };
    }
  }
}

/**
 * Rewrites the attribute names of a value filter to canonical sub-attribute names of `attribute`
 * (`Type` → `type`; a redundant `emails.type` prefix is dropped). Unknown names → `invalidFilter`.
 */
function canonicalizeValueFilter(attribute: ScimAttribute, f: Filter): Filter {
  switch (f.op) {
    case 'and':
    case 'or':
      return { op: f.op, filters: f.filters.map((x) => canonicalizeValueFilter(attribute, x)) };
    case 'not':
      return { op: 'not', filter: canonicalizeValueFilter(attribute, f.filter) };
    case '[]':
      throw ScimError.invalidFilter(`Nested value filters are not allowed inside ${attribute.name}[...]`);
    default: {
      let name = f.attrPath;
      const prefix = `${attribute.name.toLowerCase()}.`;
      if (name.toLowerCase().startsWith(prefix)) name = name.slice(prefix.length);
      let canonical: string | undefined;
      if (attribute.subAttributes) canonical = findAttributeByName(attribute.subAttributes, name)?.name;
      else if (name.toLowerCase() === 'value') canonical = 'value';
      if (canonical === undefined) {
        throw ScimError.invalidFilter(`Unknown attribute "${f.attrPath}" in the value filter of ${attribute.name}`);
      }
      return { ...f, attrPath: canonical };
    }
  }
}

/**
 * Parses and resolves a PATCH path, RFC 7644 §3.5.2 and §3.10: `attr`, `attr.sub`, `attr[filter]`,
 * `attr[filter].sub`, each optionally prefixed with its schema URN, or an extension URN alone.
 * Names are case-insensitive (RFC 7643 §2.1). Unknown attributes → `invalidPath`. The path's length and its
 * value filter are held to the filter limits.
 */
export function parsePatchPath(rt: ScimResourceType, raw: string, limits: FilterLimits = DEFAULT_FILTER_LIMITS): PatchPath {
  checkPatchPathLength(raw, limits);
  const text = raw.trim();
  if (text === '') throw ScimError.invalidPath('PATCH path is empty');
  const open = indexOutsideQuotes(text, '[');
  let head = text;
  let filterText: string | undefined;
  let after = '';
  if (open !== -1) {
    const close = indexOutsideQuotes(text, ']', open + 1);
    if (close === -1) throw ScimError.invalidPath(`Unbalanced "[" in path "${raw}"`);
    head = text.slice(0, open);
    filterText = text.slice(open + 1, close);
    after = text.slice(close + 1);
    if (indexOutsideQuotes(filterText, '[') !== -1) throw ScimError.invalidPath(`Nested "[" in path "${raw}"`);
    if (after !== '' && !/^\.[^.[\]]+$/.test(after)) {
      throw ScimError.invalidPath(`Only ".subAttribute" may follow a value filter, in path "${raw}"`);
    }
  } else if (indexOutsideQuotes(text, ']') !== -1) {
    throw ScimError.invalidPath(`Unbalanced "]" in path "${raw}"`);
  }

  const { schema, rest } = splitSchemaPrefix(rt, head);
  if (schema && rest === '') {
    if (schema === rt.schema || filterText !== undefined) {
      throw ScimError.invalidPath(`Path "${raw}" names a schema, not an attribute`);
    }
    return { kind: 'extension', raw, schema };
  }
  const resolved = resolveAttribute(rt, head);
  if (!resolved) throw ScimError.invalidPath(`Unknown attribute "${head}" in path "${raw}"`);
  if (filterText === undefined) {
    return { kind: 'attribute', raw, extension: resolved.extension, attribute: resolved.attribute, subAttribute: resolved.subAttribute };
  }

  // valuePath: only a multi-valued attribute may carry a filter, and the sub-attribute follows the filter.
  if (resolved.subAttribute) throw ScimError.invalidPath(`A value filter must follow a multi-valued attribute, in path "${raw}"`);
  const attribute = resolved.attribute;
  if (!attribute.multiValued) throw ScimError.invalidPath(`"${attribute.name}" is not multi-valued and cannot take a value filter`);
  if (filterText.trim() === '') throw ScimError.invalidFilter(`Empty value filter in path "${raw}"`);
  const filter = canonicalizeValueFilter(attribute, parseScimFilter(filterText, limits, 'PATCH path filter'));
  let subAttribute: ScimAttribute | undefined;
  if (after !== '') {
    subAttribute = findAttributeByName(attribute.subAttributes, after.slice(1));
    if (!subAttribute) throw ScimError.invalidPath(`Unknown sub-attribute "${after.slice(1)}" of ${attribute.name} in path "${raw}"`);
  }
  return { kind: 'attribute', raw, extension: resolved.extension, attribute, filter, subAttribute };
}
