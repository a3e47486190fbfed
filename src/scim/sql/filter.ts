import { sql, type RawBuilder } from 'kysely';
import type { Filter } from 'scim2-parse-filter';
import { ScimError } from '../errors.js';
import { parseFilterDateTime } from '../limits.js';
import { findAttributeByName, resolveAttribute, type ResolvedAttribute } from '../registry.js';
import type { ScimAttribute, ScimResourceType } from '../schemas/types.js';

/**
 * Compiles a SCIM filter AST (RFC 7644 §3.4.2.2) to a SQL boolean expression over the resource row
 * aliased `r` (`users as r` / `groups as r`). Filters are never evaluated in JS over loaded rows.
 *
 * Attribute → SQL:
 * - attributes with a column (`id`, `userName`, `externalId`, `displayName`, `active`, `meta.created`,
 *   `meta.lastModified`) use it, so the per-tenant indexes serve `userName eq` and `externalId eq`;
 * - other single-valued attributes read `r.data` (jsonb) by their canonical name;
 * - multi-valued attributes (`emails.value`, `emails[type eq "work"]`) become `EXISTS` over
 *   `jsonb_array_elements`, so "some value matches" semantics hold (RFC 7644 §3.4.2.2);
 * - User `groups` and Group `members` are relational: `EXISTS` over `group_members`.
 * `caseExact: false` attributes compare with `lower()` on both sides. A comparison on an absent attribute
 * is SQL NULL, read as false: `not (...)` coalesces it first, so negation stays correct.
 */
export function compileFilter(rt: ScimResourceType, filter: Filter): RawBuilder<boolean> {
  return compile(rt, filter, undefined);
}

type Sql = RawBuilder<unknown>;

/** How to reach a value: a SQL expression plus what kind of value it yields. */
interface Operand {
  readonly expr: Sql;
  readonly attribute: ScimAttribute;
  /** `json`: a jsonb value; `text`/`uuid`/`bool`/`timestamp`: a typed column. */
  readonly kind: 'json' | 'text' | 'uuid' | 'bool' | 'timestamp';
}

/** Inside `attr[...]`: the element alias and the parent multi-valued attribute. */
interface ElementScope {
  readonly parent: ScimAttribute;
  /** Resolves a sub-attribute name to an operand inside the element. */
  readonly operand: (sub: ScimAttribute) => Operand;
}

const COLUMNS: Record<string, Record<string, { column: string; kind: Operand['kind'] }>> = {
  User: {
    id: { column: 'id', kind: 'uuid' },
    username: { column: 'user_name', kind: 'text' },
    externalid: { column: 'external_id', kind: 'text' },
    displayname: { column: 'display_name', kind: 'text' },
    active: { column: 'active', kind: 'bool' },
  },
  Group: {
    id: { column: 'id', kind: 'uuid' },
    displayname: { column: 'display_name', kind: 'text' },
    externalid: { column: 'external_id', kind: 'text' },
  },
};

const META_COLUMNS: Record<string, string> = { created: 'created_at', lastmodified: 'updated_at' };

function compile(rt: ScimResourceType, filter: Filter, scope: ElementScope | undefined): RawBuilder<boolean> {
  switch (filter.op) {
    case 'and':
    case 'or': {
      const parts = filter.filters.map((f) => compile(rt, f, scope));
      return sql<boolean>`(${sql.join(parts, filter.op === 'and' ? sql` and ` : sql` or `)})`;
    }
    case 'not':
      // Comparisons on an absent attribute yield SQL NULL, which WHERE treats as false. Only a negation
      // must turn that NULL into false first; elsewhere the bare comparison keeps indexes usable.
      return sql<boolean>`(not coalesce(${compile(rt, filter.filter, scope)}, false))`;
    case '[]': {
      if (scope) throw ScimError.invalidFilter('Nested value filters ("a[b[...]]") are not allowed');
      const resolved = resolve(rt, filter.attrPath);
      if (resolved.subAttribute || !resolved.attribute.multiValued || resolved.attribute.type !== 'complex') {
        throw ScimError.invalidFilter(`"${filter.attrPath}" is not a multi-valued complex attribute; "[...]" does not apply`);
      }
      return exists(rt, resolved, (inner) => compile(rt, filter.valFilter, inner));
    }
    default:
      return comparison(rt, filter, scope);
  }
}

type Comparison = Extract<Filter, { attrPath: string; compValue: unknown }> | Extract<Filter, { op: 'pr' }>;

function comparison(rt: ScimResourceType, filter: Comparison, scope: ElementScope | undefined): RawBuilder<boolean> {
  if (scope) {
    const sub = findAttributeByName(scope.parent.subAttributes, filter.attrPath);
    if (!sub) throw ScimError.invalidFilter(`"${filter.attrPath}" is not a sub-attribute of "${scope.parent.name}"`);
    return predicate(scope.operand(sub), filter);
  }
  const resolved = resolve(rt, filter.attrPath);
  const { attribute, subAttribute } = resolved;
  if (attribute.multiValued) {
    // `emails.value eq x` and `emails eq x` (= `emails.value`, RFC 7644 §3.4.2.2) test each element.
    if (filter.op === 'pr' && !subAttribute) return sql<boolean>`(${presence(rt, resolved)})`;
    const sub = subAttribute ?? findAttributeByName(attribute.subAttributes, 'value');
    if (!sub) throw ScimError.invalidFilter(`"${filter.attrPath}" needs a sub-attribute`);
    return exists(rt, resolved, (inner) => predicate(inner.operand(sub), filter));
  }
  return predicate(singleOperand(rt, resolved), filter);
}

function resolve(rt: ScimResourceType, path: string): ResolvedAttribute {
  const resolved = resolveAttribute(rt, path);
  if (!resolved) throw ScimError.invalidFilter(`Unknown attribute "${path}" in filter`);
  if (resolved.attribute.returned === 'never' || resolved.subAttribute?.returned === 'never') {
    throw ScimError.invalidFilter(`Attribute "${path}" cannot be used in a filter`);
  }
  return resolved;
}

/** Operand for a single-valued attribute or a sub-attribute of a single-valued complex attribute. */
function singleOperand(rt: ScimResourceType, resolved: ResolvedAttribute): Operand {
  const { attribute, subAttribute, extension } = resolved;
  const leaf = subAttribute ?? attribute;
  if (!extension && !subAttribute) {
    const col = COLUMNS[rt.name]?.[attribute.name.toLowerCase()];
    if (col) return { expr: sql.ref(`r.${col.column}`), attribute: leaf, kind: col.kind };
  }
  if (!extension && attribute.name === 'meta') {
    if (!subAttribute) throw ScimError.invalidFilter('"meta" needs a sub-attribute');
    const column = META_COLUMNS[subAttribute.name.toLowerCase()];
    if (column) return { expr: sql.ref(`r.${column}`), attribute: leaf, kind: 'timestamp' };
    if (subAttribute.name === 'resourceType') return { expr: sql`${rt.name}::text`, attribute: leaf, kind: 'text' };
    throw ScimError.invalidFilter(`"meta.${subAttribute.name}" cannot be used in a filter`);
  }
  let expr: Sql = extension ? sql`r.data -> ${sql.lit(extension)} -> ${sql.lit(attribute.name)}` : sql`r.data -> ${sql.lit(attribute.name)}`;
  if (subAttribute) expr = sql`${expr} -> ${sql.lit(subAttribute.name)}`;
  return { expr, attribute: leaf, kind: 'json' };
}

/** `EXISTS` over the elements of a multi-valued attribute, relational or jsonb. */
function exists(rt: ScimResourceType, resolved: ResolvedAttribute, body: (scope: ElementScope) => RawBuilder<boolean>): RawBuilder<boolean> {
  const { attribute, extension } = resolved;
  if (!extension && rt.name === 'User' && attribute.name === 'groups') {
    return sql<boolean>`exists (select 1 from group_members gm join groups g on g.tenant_id = gm.tenant_id and g.id = gm.group_id
      where gm.tenant_id = r.tenant_id and gm.member_id = r.id and ${body({ parent: attribute, operand: groupsOperand })})`;
  }
  if (!extension && rt.name === 'Group' && attribute.name === 'members') {
    return sql<boolean>`exists (select 1 from group_members gm
      where gm.tenant_id = r.tenant_id and gm.group_id = r.id and ${body({ parent: attribute, operand: membersOperand })})`;
  }
  const array = jsonArray(resolved);
  return sql<boolean>`exists (select 1 from jsonb_array_elements(${array}) as e(v) where ${body({
    parent: attribute,
    operand: (sub) => ({ expr: sql`e.v -> ${sql.lit(sub.name)}`, attribute: sub, kind: 'json' }),
  })})`;
}

function jsonArray({ attribute, extension }: ResolvedAttribute): Sql {
  const raw = extension ? sql`r.data -> ${sql.lit(extension)} -> ${sql.lit(attribute.name)}` : sql`r.data -> ${sql.lit(attribute.name)}`;
  return sql`coalesce(${raw}, '[]'::jsonb)`;
}

function groupsOperand(sub: ScimAttribute): Operand {
  switch (sub.name) {
    case 'value': return { expr: sql.ref('gm.group_id'), attribute: sub, kind: 'uuid' };
    case 'display': return { expr: sql.ref('g.display_name'), attribute: sub, kind: 'text' };
    case 'type': return { expr: sql`'direct'::text`, attribute: sub, kind: 'text' };
    default: throw ScimError.invalidFilter(`"groups.${sub.name}" cannot be used in a filter`);
  }
}

function membersOperand(sub: ScimAttribute): Operand {
  switch (sub.name) {
    case 'value': return { expr: sql.ref('gm.member_id'), attribute: sub, kind: 'uuid' };
    case 'type': return { expr: sql.ref('gm.member_type'), attribute: sub, kind: 'text' };
    default: throw ScimError.invalidFilter(`"members.${sub.name}" cannot be used in a filter`);
  }
}

/** `attr pr` on a multi-valued attribute: at least one element. */
function presence(rt: ScimResourceType, resolved: ResolvedAttribute): Sql {
  return exists(rt, resolved, () => sql<boolean>`true`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function likePattern(value: string, op: 'co' | 'sw' | 'ew'): string {
  const escaped = value.replace(/[\\%_]/g, (c) => `\\${c}`);
  return op === 'co' ? `%${escaped}%` : op === 'sw' ? `${escaped}%` : `%${escaped}`;
}

const SQL_OPS = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' } as const;

/** One attribute-operator-value test, false (never NULL) when the attribute is absent. */
function predicate(operand: Operand, filter: Comparison): RawBuilder<boolean> {
  const { attribute } = operand;
  if (filter.op === 'pr') return sql<boolean>`(${presentExpr(operand)})`;
  const value = filter.compValue;
  if (attribute.type === 'complex') throw ScimError.invalidFilter(`"${filter.attrPath}" is complex; compare one of its sub-attributes`);
  // `attr eq null` / `attr ne null`: read as "not present" / "present".
  if (value === null) {
    if (filter.op === 'eq') return sql<boolean>`(not ${presentExpr(operand)})`;
    if (filter.op === 'ne') return sql<boolean>`(${presentExpr(operand)})`;
    throw ScimError.invalidFilter(`"${filter.op}" cannot compare with null`);
  }
  if (attribute.type === 'boolean') {
    if (filter.op !== 'eq' && filter.op !== 'ne') throw ScimError.invalidFilter(`"${filter.op}" is not defined for boolean "${filter.attrPath}"`);
    if (typeof value !== 'boolean') throw ScimError.invalidFilter(`"${filter.attrPath}" is boolean; compare with true or false`);
    const expr = operand.kind === 'bool' ? operand.expr : sql`(${operand.expr} = ${JSON.stringify(value)}::jsonb)`;
    const test = operand.kind === 'bool' ? sql`${expr} = ${value}` : expr;
    return filter.op === 'eq' ? sql<boolean>`(${test})` : sql<boolean>`not coalesce(${test}, false)`;
  }
  if (attribute.type === 'binary') throw ScimError.invalidFilter(`Binary attribute "${filter.attrPath}" cannot be filtered`);
  if (typeof value === 'object') throw ScimError.invalidFilter(`Invalid comparison value for "${filter.attrPath}"`);
  const text = String(value);

  if (operand.kind === 'timestamp' || attribute.type === 'dateTime') {
    if (filter.op === 'co' || filter.op === 'sw' || filter.op === 'ew') {
      throw ScimError.invalidFilter(`"${filter.op}" is not defined for dateTime "${filter.attrPath}"`);
    }
    // Years 0001–9999 only (scim/limits.ts): others are database errors. Compiled before any SQL runs.
    const date = parseFilterDateTime(text);
    if (!date) throw ScimError.invalidFilter(`"${text}" is not a dateTime between years 0001 and 9999`);
    // Columns hold microseconds but resources show milliseconds (toISOString): compare what clients see,
    // so `meta.lastModified eq <returned value>` matches and `gt <own value>` excludes the resource.
    const left = operand.kind === 'timestamp' ? sql`date_trunc('milliseconds', ${operand.expr})` : sql`(${operand.expr} #>> '{}')::timestamptz`;
    return wrap(sql`${left} ${sql.raw(SQL_OPS[filter.op])} ${date.toISOString()}::timestamptz`, filter.op);
  }

  if (operand.kind === 'uuid' && (filter.op === 'eq' || filter.op === 'ne')) {
    // Ids are UUIDs: an id that is not one matches nothing (rather than a SQL cast error).
    if (!UUID.test(text)) return filter.op === 'eq' ? sql<boolean>`false` : sql<boolean>`true`;
    return wrap(sql`${operand.expr} ${sql.raw(SQL_OPS[filter.op])} ${text}::uuid`, filter.op);
  }

  const column = operand.kind === 'json' ? sql`(${operand.expr} #>> '{}')` : operand.kind === 'uuid' ? sql`${operand.expr}::text` : operand.expr;
  const numeric = attribute.type === 'integer' || attribute.type === 'decimal';
  if (numeric) {
    if (typeof value !== 'number') throw ScimError.invalidFilter(`"${filter.attrPath}" is numeric; compare with a number`);
    if (filter.op === 'co' || filter.op === 'sw' || filter.op === 'ew') throw ScimError.invalidFilter(`"${filter.op}" is not defined for numbers`);
    return wrap(sql`(${column})::numeric ${sql.raw(SQL_OPS[filter.op])} ${value}::numeric`, filter.op);
  }
  const fold = !attribute.caseExact;
  const left = fold ? sql`lower(${column})` : column;
  if (filter.op === 'co' || filter.op === 'sw' || filter.op === 'ew') {
    // lower() in SQL on both sides, so folding matches the unique index on lower(user_name) exactly.
    const pattern = likePattern(text, filter.op);
    return sql<boolean>`(${left} like ${fold ? sql`lower(${pattern})` : pattern})`;
  }
  const right = fold ? sql`lower(${text})` : text;
  return wrap(sql`${left} ${sql.raw(SQL_OPS[filter.op])} ${right}`, filter.op);
}

/**
 * `ne` treats an absent attribute as "not equal" (true); every other operator leaves SQL NULL, which
 * counts as false (see `not`) and keeps the comparison sargable (`lower(user_name) = lower($1)`).
 */
function wrap(test: Sql, op: keyof typeof SQL_OPS): RawBuilder<boolean> {
  return op === 'ne' ? sql<boolean>`coalesce(${test}, true)` : sql<boolean>`(${test})`;
}

function presentExpr(operand: Operand): Sql {
  if (operand.kind !== 'json') {
    return operand.kind === 'text' ? sql`(${operand.expr} is not null and ${operand.expr} <> '')` : sql`(${operand.expr} is not null)`;
  }
  return sql`coalesce(${operand.expr} not in ('null'::jsonb, '""'::jsonb, '[]'::jsonb, '{}'::jsonb), false)`;
}

/** SQL expression to sort by (RFC 7644 §3.4.2.3): multi-valued attributes sort by their primary, else first, value. */
export function compileSortKey(rt: ScimResourceType, sortBy: string): Sql {
  const resolved = resolveAttribute(rt, sortBy);
  if (!resolved) throw ScimError.invalidValue(`Unknown attribute "${sortBy}" in sortBy`);
  const { attribute, subAttribute } = resolved;
  if (attribute.multiValued) {
    if (attribute.name === 'groups' || attribute.name === 'members') throw ScimError.invalidValue(`Cannot sort by "${sortBy}"`);
    const sub = subAttribute ?? findAttributeByName(attribute.subAttributes, 'value');
    if (!sub) throw ScimError.invalidValue(`Cannot sort by "${sortBy}"`);
    const value = sql`(select e.v ->> ${sql.lit(sub.name)} from jsonb_array_elements(${jsonArray(resolved)}) with ordinality as e(v, n)
      order by (e.v -> 'primary') = 'true'::jsonb desc nulls last, e.n limit 1)`;
    return sub.caseExact ? value : sql`lower(${value})`;
  }
  if (attribute.type === 'complex' && !subAttribute) throw ScimError.invalidValue(`Cannot sort by complex "${sortBy}"`);
  const operand = singleOperand(rt, resolved);
  const leaf = subAttribute ?? attribute;
  if (operand.kind !== 'json') return operand.kind === 'text' && !leaf.caseExact ? sql`lower(${operand.expr})` : operand.expr;
  const text = sql`(${operand.expr} #>> '{}')`;
  return leaf.caseExact || leaf.type !== 'string' ? text : sql`lower(${text})`;
}
