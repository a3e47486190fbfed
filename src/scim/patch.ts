import type { Filter } from 'scim2-parse-filter';
import type { InputLimits } from '../config.js';
import { ScimError } from './errors.js';
import { checkValueCount } from './limits.js';
import { parsePatchPath, type PatchPath } from './path.js';
import { memberOpsFor, type MemberOp } from './patch-members.js';
import { findAttributeByName } from './registry.js';
import type { ScimAttribute, ScimResource, ScimResourceType } from './schemas/types.js';
import { URN } from './urn.js';
import { matchesValueFilter } from './value-filter.js';

export type { MemberOp, ScimMemberRef } from './patch-members.js';

/** The three PATCH operations of RFC 7644 §3.5.2. */
export type PatchOpName = 'add' | 'replace' | 'remove';

/** One validated PATCH operation; `path` is still text (resolved by `applyPatch` against the resource type). */
export interface PatchOperation {
  readonly op: PatchOpName;
  readonly path?: string;
  readonly value?: unknown;
}

/** What `applyPatch` returns: the new stored JSON and the membership changes for the service to run in SQL. */
export interface PatchResult {
  readonly resource: ScimResource;
  readonly memberOps: MemberOp[];
}

/** Choices RFC 7644 leaves open or IdPs need bent; the compat layer picks them per dialect. */
export interface ApplyPatchOptions {
  /** The resource's id: a pathless `"id"` equal to it is ignored (Okta), a different one is `mutability`. Unset: any pathless `id` is ignored. */
  readonly id?: string;
  /**
   * When an add/replace value filter (`emails[type eq "work"].value`) matches no element, create one from
   * the filter's `eq` terms instead of failing with `noTarget`. RFC 7644 §3.5.2.3 mandates noTarget for replace.
   */
  readonly createOnUnmatchedFilter?: { readonly add?: boolean; readonly replace?: boolean };
  /**
   * Filter limits for paths, and `maxMultiValues` for the values one operation sends and the list it leaves
   * (checked as it goes: matching N new values against M stored ones costs N × M). Unset: default filter
   * limits, no count limit.
   */
  readonly limits?: Pick<InputLimits, 'filterMaxTerms' | 'filterMaxDepth' | 'filterMaxLength' | 'filterMaxValueLength' | 'maxMultiValues'>;
}

type Json = Record<string, unknown>;

function isPlainObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Looks a message attribute up case-insensitively (RFC 7643 §2.1 applies to message attributes too). */
function field(obj: Json, name: string): unknown {
  if (name in obj) return obj[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/**
 * Validates a PATCH request body (RFC 7644 §3.5.2): `schemas` contains the PatchOp URN, `Operations` is a
 * non-empty array, `op` is add/replace/remove in any case (Entra sends `"Replace"`), add/replace carry a
 * `value`. An empty-string path counts as absent. Errors are `invalidSyntax` (shape) or `invalidValue`.
 */
export function parsePatchRequest(body: unknown): PatchOperation[] {
  if (!isPlainObject(body)) throw ScimError.invalidSyntax('A PATCH request body must be a JSON object');
  const schemas = field(body, 'schemas');
  const patchUrn = URN.patchOp.toLowerCase();
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === patchUrn)) {
    throw ScimError.invalidSyntax(`A PATCH request must list "${URN.patchOp}" in "schemas"`);
  }
  const operations = field(body, 'Operations');
  if (!Array.isArray(operations) || operations.length === 0) {
    throw ScimError.invalidSyntax('A PATCH request needs a non-empty "Operations" array');
  }
  return operations.map((raw, i): PatchOperation => {
    if (!isPlainObject(raw)) throw ScimError.invalidSyntax(`Operations[${i}] must be an object`);
    const opText = field(raw, 'op');
    const op = typeof opText === 'string' ? opText.trim().toLowerCase() : undefined;
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw ScimError.invalidSyntax(`Operations[${i}].op must be "add", "replace" or "remove", got ${JSON.stringify(opText)}`);
    }
    const pathValue = field(raw, 'path');
    if (pathValue !== undefined && pathValue !== null && typeof pathValue !== 'string') {
      throw ScimError.invalidSyntax(`Operations[${i}].path must be a string`);
    }
    const path = typeof pathValue === 'string' && pathValue.trim() !== '' ? pathValue : undefined;
    const value = field(raw, 'value');
    if (op === 'add' && (value === undefined || value === null)) {
      throw ScimError.invalidValue(`Operations[${i}]: "add" requires a value`);
    }
    if (op === 'replace' && value === undefined) throw ScimError.invalidValue(`Operations[${i}]: "replace" requires a value`);
    return { op, ...(path === undefined ? {} : { path }), ...(value === undefined ? {} : { value }) };
  });
}

interface Ctx {
  readonly rt: ScimResourceType;
  readonly options: ApplyPatchOptions;
  readonly memberOps: MemberOp[];
}

/**
 * Applies PATCH operations in order to a stored resource (RFC 7644 §3.5.2) and returns a NEW object plus
 * the Group membership changes. Any invalid operation throws a `ScimError` and nothing is returned, so the
 * service (one transaction) applies all operations or none. `id`/`meta`/User `groups` are not in the stored
 * JSON; targeting them is `mutability`. `password` (writeOnly) is accepted and discarded: it is never stored.
 */
export function applyPatch(
  rt: ScimResourceType,
  resource: ScimResource,
  ops: readonly PatchOperation[],
  options: ApplyPatchOptions = {},
): PatchResult {
  const doc = structuredClone(resource);
  const ctx: Ctx = { rt, options, memberOps: [] };
  ops.forEach((op, i) => {
    try {
      if (op.path === undefined) {
        // RFC 7644 §3.5.2.2: remove without a path is noTarget.
        if (op.op === 'remove') throw ScimError.noTarget('"remove" requires a path');
        applyPathless(ctx, doc, op.op, op.value);
      } else {
        applyAt(ctx, doc, op.op, parsePatchPath(rt, op.path, options.limits), op.value);
      }
    } catch (e) {
      if (e instanceof ScimError) {
        const path = op.path === undefined ? '' : ` ${op.path.length > 200 ? `${op.path.slice(0, 200)}…` : op.path}`;
        throw new ScimError(e.status, `Operations[${i}] (${op.op}${path}): ${e.message}`, e.scimType, e.headers);
      }
      throw e;
    }
  });
  return { resource: doc, memberOps: ctx.memberOps };
}

/**
 * Pathless add/replace (RFC 7644 §3.5.2.1/§3.5.2.3: the target is the resource itself). Keys may be plain
 * attributes, flat dotted paths (`"name.givenName"`, Entra with aadOptscim062020) or URN-qualified
 * (`"urn:…:enterprise:2.0:User:department"`, or the extension object itself).
 */
function applyPathless(ctx: Ctx, doc: Json, op: 'add' | 'replace', value: unknown): void {
  if (!isPlainObject(value)) throw ScimError.invalidValue(`A pathless "${op}" needs an object of attributes as its value`);
  for (const [key, v] of Object.entries(value)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas') continue; // clients echo the resource's schemas; they are derived, not patched
    if (lower === 'id') {
      // Okta sends {"id":…,"displayName":…} on every group change; the unchanged id is not a modification.
      if (ctx.options.id !== undefined && v !== ctx.options.id) throw ScimError.mutability('"id" is readOnly');
      continue;
    }
    if (key.includes('[')) throw ScimError.invalidPath(`A value filter is not allowed in a pathless attribute name ("${key}")`);
    applyAt(ctx, doc, op, parsePatchPath(ctx.rt, key, ctx.options.limits), v);
  }
}

function applyAt(ctx: Ctx, doc: Json, op: PatchOpName, path: PatchPath, value: unknown): void {
  if (path.kind === 'extension') {
    applyExtension(ctx, doc, op, path, value);
    return;
  }
  const { attribute, subAttribute, extension } = path;
  if (attribute.mutability === 'readOnly' || subAttribute?.mutability === 'readOnly') {
    throw ScimError.mutability(`"${subAttribute ? `${attribute.name}.${subAttribute.name}` : attribute.name}" is readOnly`);
  }
  if (attribute.mutability === 'writeOnly') return; // password: accepted and discarded (schemas/user.ts)
  if (ctx.rt.name === 'Group' && extension === undefined && attribute.name === 'members') {
    ctx.memberOps.push(...memberOpsFor(op, path, value));
    return;
  }
  let container = doc;
  if (extension !== undefined) {
    const existing = doc[extension];
    container = isPlainObject(existing) ? existing : {};
    doc[extension] = container;
  }
  if (attribute.multiValued) applyMultiValued(ctx, container, op, path.raw, attribute, path.filter, subAttribute, value);
  else applySingleValued(container, op, attribute, subAttribute, value, extension === undefined);
  if (extension !== undefined && Object.keys(container).length === 0) delete doc[extension];
}

/** The extension object as a target: remove drops it, add/replace merge its attributes (complex semantics, §3.5.2.3). */
function applyExtension(ctx: Ctx, doc: Json, op: PatchOpName, path: Extract<PatchPath, { kind: 'extension' }>, value: unknown): void {
  if (op === 'remove' || value === null) {
    delete doc[path.schema.id];
    return;
  }
  if (!isPlainObject(value)) throw ScimError.invalidValue(`The value for ${path.schema.id} must be an object of its attributes`);
  for (const [key, v] of Object.entries(value)) {
    if (key.toLowerCase() === 'schemas') continue;
    const attribute = findAttributeByName(path.schema.attributes, key);
    if (!attribute) throw ScimError.invalidPath(`Unknown attribute "${key}" in ${path.schema.id}`);
    applyAt(ctx, doc, op, { kind: 'attribute', raw: `${path.schema.id}:${attribute.name}`, extension: path.schema.id, attribute }, v);
  }
}

/** A single value of a simple attribute; objects and arrays are rejected (the service validates types). */
function simpleValue(def: ScimAttribute, value: unknown): unknown {
  if (value !== null && typeof value === 'object') {
    throw ScimError.invalidValue(`"${def.name}" takes a single ${def.type} value, not ${Array.isArray(value) ? 'an array' : 'an object'}`);
  }
  return value;
}

/** Sub-attribute entries of a complex value with canonical names; null marks removal; readOnly ones are ignored. */
function complexEntries(attribute: ScimAttribute, value: unknown): [string, unknown][] {
  if (!isPlainObject(value)) throw ScimError.invalidValue(`"${attribute.name}" takes an object of sub-attributes`);
  const out: [string, unknown][] = [];
  for (const [key, v] of Object.entries(value)) {
    const sub = findAttributeByName(attribute.subAttributes, key);
    if (!sub) throw ScimError.invalidValue(`Unknown sub-attribute "${key}" of "${attribute.name}"`);
    // RFC 7643 §2.2 readOnly: values sent by the client are ignored (e.g. manager.displayName).
    if (sub.mutability === 'readOnly') continue;
    out.push([sub.name, v === null ? null : simpleValue(sub, v)]);
  }
  return out;
}

/** One element of a multi-valued attribute, canonicalised; unassigned (null) sub-attributes are dropped. */
function element(attribute: ScimAttribute, value: unknown): unknown {
  if (attribute.type !== 'complex') return simpleValue(attribute, value);
  const obj: Json = {};
  for (const [k, v] of complexEntries(attribute, value)) if (v !== null) obj[k] = v;
  return obj;
}

function omit(obj: Json, key: string): Json {
  const { [key]: _dropped, ...rest } = obj;
  return rest;
}

function applySingleValued(
  container: Json, op: PatchOpName, attribute: ScimAttribute, sub: ScimAttribute | undefined, value: unknown, core: boolean,
): void {
  const name = attribute.name;
  const current = container[name];
  if (sub) {
    const cur = isPlainObject(current) ? current : {};
    const next = op === 'remove' || value === null ? omit(cur, sub.name) : { ...cur, [sub.name]: simpleValue(sub, value) };
    if (Object.keys(next).length === 0) delete container[name];
    else container[name] = next;
    return;
  }
  if (op === 'remove' || value === null) {
    // RFC 7644 §3.5.2: unassigning a required attribute is a mutability error.
    if (core && attribute.required) throw ScimError.mutability(`"${name}" is required and cannot be removed`);
    delete container[name];
    return;
  }
  if (attribute.type !== 'complex') {
    container[name] = simpleValue(attribute, value);
    return;
  }
  // RFC 7644 §3.5.2.1/§3.5.2.3: sub-attributes not specified in the value are left unchanged.
  const next: Json = isPlainObject(current) ? { ...current } : {};
  for (const [k, v] of complexEntries(attribute, value)) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  if (Object.keys(next).length === 0) delete container[name];
  else container[name] = next;
}

/** Builds a new element from a filter made of `eq` terms joined by `and`; undefined when it has other operators. */
function elementFromFilter(attribute: ScimAttribute, filter: Filter): Json | undefined {
  if (filter.op === 'and') {
    const out: Json = {};
    for (const f of filter.filters) {
      const part = elementFromFilter(attribute, f);
      if (!part) return undefined;
      Object.assign(out, part);
    }
    return out;
  }
  if (filter.op !== 'eq' || filter.compValue === null) return undefined;
  const def = findAttributeByName(attribute.subAttributes, filter.attrPath);
  let v: unknown = filter.compValue;
  if (def?.type === 'boolean' && typeof v === 'string') v = v.trim().toLowerCase() === 'true';
  return { [filter.attrPath]: v };
}

function scalarEqual(def: ScimAttribute | undefined, a: unknown, b: unknown): boolean {
  if (typeof a === 'string' && typeof b === 'string' && def && !def.caseExact) return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Whether two elements are "the same value" (RFC 7644 §3.5.2.1: add must not duplicate values): equal
 * `value` (honouring caseExact) and, when both carry one, equal `type`; elements without `value`
 * (addresses) compare whole, ignoring `primary`.
 */
function sameElement(attribute: ScimAttribute, a: unknown, b: unknown): boolean {
  if (attribute.type !== 'complex') return scalarEqual(attribute, a, b);
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const valueDef = findAttributeByName(attribute.subAttributes, 'value');
  if (valueDef && (a.value !== undefined || b.value !== undefined)) {
    if (!scalarEqual(valueDef, a.value, b.value)) return false;
    if (a.type !== undefined && b.type !== undefined) return scalarEqual(findAttributeByName(attribute.subAttributes, 'type'), a.type, b.type);
    return true;
  }
  return deepEqual(omit(a, 'primary'), omit(b, 'primary'));
}

/**
 * RFC 7644 §3.5.2: setting `primary` true on one value sets it false on the others. The winner is the last
 * element this operation wrote with primary true; without one, the first existing primary is kept.
 */
function enforceSinglePrimary(list: unknown[], touched: ReadonlySet<unknown>): void {
  const primaries = list.flatMap((el, i) => (isPlainObject(el) && el.primary === true ? [i] : []));
  if (primaries.length < 2) return;
  const winner = [...primaries].reverse().find((i) => touched.has(list[i])) ?? primaries[0];
  for (const i of primaries) if (i !== winner) list[i] = { ...(list[i] as Json), primary: false };
}

function applyMultiValued(
  ctx: Ctx, container: Json, op: PatchOpName, raw: string,
  attribute: ScimAttribute, filter: Filter | undefined, sub: ScimAttribute | undefined, value: unknown,
): void {
  const name = attribute.name;
  const current = container[name];
  let list: unknown[] = Array.isArray(current) ? [...current] : [];
  const touched = new Set<unknown>();
  const write = (i: number, el: unknown): void => { list[i] = el; touched.add(el); };
  const limits = ctx.options.limits;
  const items = (): unknown[] => {
    const values = Array.isArray(value) ? value : [value];
    if (limits) checkValueCount(attribute, values.length, name, limits);
    return values.map((v) => element(attribute, v));
  };

  if (filter) {
    const matched = list.flatMap((el, i) => (matchesValueFilter(attribute, el, filter) ? [i] : []));
    if (matched.length === 0) {
      // RFC 7644 §3.5.2.2 defines no error for a remove that selects nothing: it is a no-op (retries are safe).
      if (op === 'remove' || value === null) return;
      if (!ctx.options.createOnUnmatchedFilter?.[op]) throw ScimError.noTarget(`No value of "${name}" matches ${raw}`);
      const seed = elementFromFilter(attribute, filter);
      if (!seed) throw ScimError.noTarget(`No value of "${name}" matches ${raw}, and the filter cannot describe a new one`);
      const created = sub ? { ...seed, [sub.name]: simpleValue(sub, value) } : { ...seed, ...(element(attribute, value) as Json) };
      list.push(created);
      touched.add(created);
    } else {
      const drop = new Set<number>();
      for (const i of matched) {
        const el = list[i];
        if (sub) {
          const obj = isPlainObject(el) ? el : {};
          write(i, op === 'remove' || value === null ? omit(obj, sub.name) : { ...obj, [sub.name]: simpleValue(sub, value) });
        } else if (op === 'remove' || value === null) {
          drop.add(i);
        } else if (op === 'replace') {
          write(i, element(attribute, value)); // "all matching record values SHALL be replaced" (§3.5.2.3)
        } else {
          write(i, attribute.type === 'complex' && isPlainObject(el) ? { ...el, ...(element(attribute, value) as Json) } : element(attribute, value));
        }
      }
      list = list.filter((_, i) => !drop.has(i));
    }
  } else if (sub) {
    // `emails.value` without a filter addresses that sub-attribute of every value.
    if (op === 'remove' || value === null) list = list.map((el) => (isPlainObject(el) ? omit(el, sub.name) : el));
    else if (list.length === 0) { const el = { [sub.name]: simpleValue(sub, value) }; list.push(el); touched.add(el); }
    else list.forEach((el, i) => write(i, { ...(isPlainObject(el) ? el : {}), [sub.name]: simpleValue(sub, value) }));
  } else if (op === 'remove') {
    if (value === undefined || value === null) list = [];
    else {
      // Entra (default job) / JumpCloud shape generalised: remove with a value list removes those values.
      const gone = items();
      list = list.filter((el) => !gone.some((g) => sameElement(attribute, el, g)));
    }
  } else {
    if (op === 'replace') list = [];
    if (value !== null) {
      for (const item of items()) {
        const j = list.findIndex((el) => sameElement(attribute, el, item));
        if (j === -1) { list.push(item); touched.add(item); }
        else write(j, isPlainObject(item) && isPlainObject(list[j]) ? { ...(list[j] as Json), ...item } : item);
      }
    }
  }
  if (limits) checkValueCount(attribute, list.length, name, limits);
  enforceSinglePrimary(list, touched);
  if (list.length === 0) delete container[name];
  else container[name] = list;
}
