import type { Filter } from 'scim2-parse-filter';
import { ScimError } from './errors.js';
import type { ScimAttribute } from './schemas/types.js';

/*
 * Group `members` are not part of the stored resource JSON: they live in a membership table and are
 * changed set-wise in SQL. PATCH on `members` therefore yields MemberOps instead of touching the JSON.
 * Semantics follow RFC 7644 §3.5.2.1–3 (add merges; replace without filter replaces the whole set;
 * replace/remove with a filter touch only matching members; remove without filter clears).
 */

/** A member reference as received: the member's SCIM id and, when given, its resource type. */
export interface ScimMemberRef {
  readonly value: string;
  readonly type?: 'User' | 'Group';
}

/** One set-wise change to a group's membership, applied by the service in order, in the PATCH's transaction. */
export type MemberOp =
  /** Insert these members; ones already present are kept (RFC 7644 §3.5.2.1, no duplicates). */
  | { readonly kind: 'add'; readonly members: readonly ScimMemberRef[] }
  /** Make the membership exactly this set; an empty list empties the group (RFC 7644 §3.5.2.3). */
  | { readonly kind: 'replace'; readonly members: readonly ScimMemberRef[] }
  /** Remove every member (RFC 7644 §3.5.2.2, remove without a filter). */
  | { readonly kind: 'removeAll' }
  /**
   * Remove these member ids; ids that are not members are ignored. `requireMatch` (from a filtered
   * `replace`) means: if none of `values` is currently a member, fail with `ScimError.noTarget`
   * (RFC 7644 §3.5.2.3: a valuePath that matches nothing is noTarget for replace).
   */
  | { readonly kind: 'remove'; readonly values: readonly string[]; readonly requireMatch?: boolean };

const FILTER_HINT = 'select members by value, e.g. members[value eq "id"], optionally joined with "or"';

/**
 * Reduces a `members[...]` filter to the member ids it selects. Only `value eq "x"` (joined by `or`, or by
 * `and` with conditions on type/display/$ref, which are ignored for matching) can be done set-wise.
 */
export function memberValuesOfFilter(filter: Filter): string[] {
  const reduced = reduce(filter);
  if (reduced === 'any') throw ScimError.invalidFilter(`Cannot select members by this filter: ${FILTER_HINT}`);
  return [...reduced];
}

/** A set of ids, or 'any' for a condition that does not constrain `value` (ignored under `and`). */
function reduce(filter: Filter): Set<string> | 'any' {
  switch (filter.op) {
    case 'eq':
      if (filter.attrPath === 'value') {
        if (typeof filter.compValue !== 'string' && typeof filter.compValue !== 'number') {
          throw ScimError.invalidFilter(`members[value eq …] needs a string id: ${FILTER_HINT}`);
        }
        return new Set([String(filter.compValue)]);
      }
      return 'any';
    case 'or': {
      const out = new Set<string>();
      for (const f of filter.filters) {
        const r = reduce(f);
        if (r === 'any') throw ScimError.invalidFilter(`Each "or" branch of a members filter must name a value: ${FILTER_HINT}`);
        for (const v of r) out.add(v);
      }
      return out;
    }
    case 'and': {
      let out = 'any' as Set<string> | 'any';
      for (const f of filter.filters) {
        const r = reduce(f);
        if (r === 'any') continue;
        const keep: Set<string> = r;
        out = out === 'any' ? keep : new Set([...out].filter((v) => keep.has(v)));
      }
      return out;
    }
    default:
      throw ScimError.invalidFilter(`Operator "${filter.op}" cannot select members set-wise: ${FILTER_HINT}`);
  }
}

/** Validates member references (`[{value, type?, display?, $ref?}]`); a lone object is accepted as a list of one. */
export function parseMemberRefs(value: unknown): ScimMemberRef[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  const byValue = new Map<string, ScimMemberRef>();
  for (const item of list) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw ScimError.invalidValue('Each member must be an object with a "value" (the member\'s id)');
    }
    let id: unknown;
    let type: unknown;
    for (const [k, v] of Object.entries(item as Record<string, unknown>)) {
      const key = k.toLowerCase();
      if (key === 'value') id = v;
      else if (key === 'type') type = v;
      // display is readOnly and $ref is derived: ignored (Entra sends "$ref": null).
    }
    if (typeof id !== 'string' || id.trim() === '') throw ScimError.invalidValue('Each member needs a non-empty string "value"');
    let canonicalType: 'User' | 'Group' | undefined;
    if (type !== undefined && type !== null) {
      const t = typeof type === 'string' ? type.toLowerCase() : '';
      if (t === 'user') canonicalType = 'User';
      else if (t === 'group') canonicalType = 'Group';
      else throw ScimError.invalidValue(`Member type must be "User" or "Group", got ${JSON.stringify(type)}`);
    }
    byValue.set(id, canonicalType ? { value: id, type: canonicalType } : { value: id });
  }
  return [...byValue.values()];
}

/**
 * Turns one PATCH operation on Group `members` into MemberOps (RFC 7644 §3.5.2). `value` on a pathless or
 * unfiltered remove is the Entra (default job) / JumpCloud shape: remove just those members.
 */
export function memberOpsFor(
  op: 'add' | 'replace' | 'remove',
  target: { readonly filter?: Filter; readonly subAttribute?: ScimAttribute },
  value: unknown,
): MemberOp[] {
  if (target.subAttribute) {
    throw ScimError.mutability(`members.${target.subAttribute.name} cannot be modified; add or remove the member instead`);
  }
  switch (op) {
    case 'add': {
      if (target.filter) throw ScimError.invalidPath('"add" takes path "members" without a value filter');
      const members = parseMemberRefs(value);
      return members.length > 0 ? [{ kind: 'add', members }] : [];
    }
    case 'replace': {
      if (!target.filter) return [{ kind: 'replace', members: parseMemberRefs(value) }];
      const values = memberValuesOfFilter(target.filter);
      const members = parseMemberRefs(value);
      const ops: MemberOp[] = [{ kind: 'remove', values, requireMatch: true }];
      if (members.length > 0) ops.push({ kind: 'add', members });
      return ops;
    }
    case 'remove': {
      if (target.filter) return [{ kind: 'remove', values: memberValuesOfFilter(target.filter) }];
      if (value === undefined || value === null) return [{ kind: 'removeAll' }];
      // An empty value list removes nothing rather than everything: clearing a group must be explicit.
      const values = parseMemberRefs(value).map((m) => m.value);
      return values.length > 0 ? [{ kind: 'remove', values }] : [];
    }
  }
}

/**
 * Reference semantics of MemberOps over an in-memory id set (for tests and as the contract the SQL must
 * match). Throws `noTarget` for a `requireMatch` remove that matches nothing.
 */
export function applyMemberOpsToSet(current: Iterable<string>, ops: readonly MemberOp[]): Set<string> {
  const set = new Set(current);
  for (const op of ops) {
    switch (op.kind) {
      case 'add': for (const m of op.members) set.add(m.value); break;
      case 'replace': set.clear(); for (const m of op.members) set.add(m.value); break;
      case 'removeAll': set.clear(); break;
      case 'remove': {
        if (op.requireMatch && !op.values.some((v) => set.has(v))) {
          throw ScimError.noTarget('The members filter matched no member of the group');
        }
        for (const v of op.values) set.delete(v);
        break;
      }
    }
  }
  return set;
}
