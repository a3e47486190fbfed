import type { Filter } from 'scim2-parse-filter';
import { resolveAttribute } from './registry.js';
import { parsePatchPath } from './path.js';
import type { Projection } from './query.js';
import type { ScimAttribute, ScimResource, ScimResourceType } from './schemas/types.js';
import { commonAttributes } from './schemas/common.js';
import { matchesValueFilter } from './value-filter.js';

/**
 * `attributes` / `excludedAttributes` (RFC 7644 §3.9, §3.4.2.5), including value paths:
 * `attributes=emails[type eq "work"]` returns only the work emails, `emails[type eq "work"].value` only
 * their `value`, and `excludedAttributes=emails[type eq "home"]` every email but the home ones.
 *
 * A name that the resource type does not define is ignored (RFC 7644 §3.4.2.5 does not make it an
 * error, and validators send names of other resource types); a value filter that does not parse is a 400.
 */

/** One value filter of a multi-valued attribute, with the sub-attributes it selects (all when undefined). */
interface ValueSelection {
  readonly attribute: ScimAttribute;
  readonly filter: Filter;
  readonly subs?: ReadonlySet<string>;
}

/** What is selected of one top-level attribute: all of it, some sub-attributes, and/or the values some filters match. */
interface Selected {
  whole: boolean;
  subs?: Set<string>;
  filters?: ValueSelection[];
}

/** Top-level key (or `extension URN \0 name`) → what is selected of it. */
type Selection = Map<string, Selected>;

/** Top-level keys always returned (RFC 7643 §2.2 `returned: always`, plus `schemas`). */
const ALWAYS = new Set(['schemas', 'id']);

function keyOf(extension: string | undefined, name: string): string {
  return extension ? `${extension}\u0000${name}` : name;
}

function entry(selection: Selection, key: string): Selected {
  let selected = selection.get(key);
  if (!selected) {
    selected = { whole: false };
    selection.set(key, selected);
  }
  return selected;
}

function build(rt: ScimResourceType, paths: readonly string[]): Selection {
  const selection: Selection = new Map();
  for (const path of paths) {
    const ext = rt.extensions.find((e) => e.schema.id.toLowerCase() === path.toLowerCase());
    if (ext) {
      for (const a of ext.schema.attributes) entry(selection, keyOf(ext.schema.id, a.name)).whole = true;
      continue;
    }
    const bracket = path.indexOf('[');
    if (bracket !== -1) {
      // Unknown attribute names are ignored; a known one with a malformed filter is the client's mistake.
      const head = resolveAttribute(rt, path.slice(0, bracket));
      if (!head || head.subAttribute || !head.attribute.multiValued) continue;
      const parsed = parsePatchPath(rt, path);
      if (parsed.kind !== 'attribute' || !parsed.filter) continue;
      const selected = entry(selection, keyOf(parsed.extension, parsed.attribute.name));
      (selected.filters ??= []).push({
        attribute: parsed.attribute,
        filter: parsed.filter,
        ...(parsed.subAttribute ? { subs: new Set([parsed.subAttribute.name]) } : {}),
      });
      continue;
    }
    const resolved = resolveAttribute(rt, path);
    if (!resolved) continue;
    const selected = entry(selection, keyOf(resolved.extension, resolved.attribute.name));
    if (resolved.subAttribute) (selected.subs ??= new Set()).add(resolved.subAttribute.name);
    else selected.whole = true;
  }
  return selection;
}

/**
 * Selections are built once per request, not once per rendered resource: a list's resources share the
 * query's `attributes` array, which keys this cache.
 */
const cache = new WeakMap<ScimResourceType, WeakMap<readonly string[], Selection>>();

function select(rt: ScimResourceType, paths: readonly string[]): Selection {
  let byPaths = cache.get(rt);
  if (!byPaths) {
    byPaths = new WeakMap();
    cache.set(rt, byPaths);
  }
  let selection = byPaths.get(paths);
  if (!selection) {
    selection = build(rt, paths);
    byPaths.set(paths, selection);
  }
  return selection;
}

/** True when the projection returns `name` (used to skip loading members or groups). */
export function projectionIncludes(rt: ScimResourceType, projection: Projection, name: string): boolean {
  if (projection.attributes) return select(rt, projection.attributes).has(name);
  if (projection.excludedAttributes) return select(rt, projection.excludedAttributes).get(name)?.whole !== true;
  return true;
}

/** Parses the value filters early (before any database work), so a malformed one is a 400 up front. */
export function checkProjection(rt: ScimResourceType, projection: Projection): void {
  if (projection.attributes) select(rt, projection.attributes);
  if (projection.excludedAttributes) select(rt, projection.excludedAttributes);
}

function isAlways(rt: ScimResourceType, key: string): boolean {
  if (ALWAYS.has(key)) return true;
  const attribute = rt.schema.attributes.find((a) => a.name === key) ?? commonAttributes.find((a) => a.name === key);
  return attribute?.returned === 'always';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pickKeys(value: Record<string, unknown>, subs: ReadonlySet<string>, keep: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (subs.has(k) === keep) out[k] = v;
  return out;
}

/**
 * One element of a multi-valued attribute under a partial selection: the sub-attributes to keep (include)
 * or drop (exclude), or 'all' when a matching value filter names the whole element, or 'none'.
 */
function elementSubs(selected: Selected, element: unknown): ReadonlySet<string> | 'all' | 'none' {
  let subs: Set<string> | undefined = selected.subs ? new Set(selected.subs) : undefined;
  for (const f of selected.filters ?? []) {
    if (!matchesValueFilter(f.attribute, element, f.filter)) continue;
    if (!f.subs) return 'all';
    subs ??= new Set();
    for (const s of f.subs) subs.add(s);
  }
  return subs && subs.size > 0 ? subs : 'none';
}

/** The value of one attribute under `selected`, or undefined when nothing of it is left. */
function applySelected(value: unknown, selected: Selected | undefined, include: boolean): unknown {
  if (!selected) return include ? undefined : value;
  if (selected.whole) return include ? value : undefined;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const element of value) {
      const subs = elementSubs(selected, element);
      if (include) {
        if (subs === 'all') out.push(element);
        else if (subs !== 'none' && isObject(element)) {
          const picked = pickKeys(element, subs, true);
          if (Object.keys(picked).length > 0) out.push(picked);
        }
      } else if (subs === 'none') out.push(element);
      else if (subs !== 'all' && isObject(element)) {
        const kept = pickKeys(element, subs, false);
        if (Object.keys(kept).length > 0) out.push(kept);
      }
    }
    return out.length > 0 ? out : undefined;
  }
  if (isObject(value) && selected.subs) {
    const picked = pickKeys(value, selected.subs, include);
    return Object.keys(picked).length > 0 ? picked : undefined;
  }
  return include ? undefined : value;
}

/** Applies `attributes` / `excludedAttributes` to a rendered resource. */
export function project(rt: ScimResourceType, resource: ScimResource, projection: Projection): ScimResource {
  if (!projection.attributes && !projection.excludedAttributes) return resource;
  const include = projection.attributes !== undefined;
  const selection = select(rt, include ? projection.attributes! : projection.excludedAttributes!);
  const out: ScimResource = {};
  for (const [key, value] of Object.entries(resource)) {
    const ext = rt.extensions.find((e) => e.schema.id === key);
    if (ext && isObject(value)) {
      const inner: ScimResource = {};
      for (const [name, v] of Object.entries(value)) {
        const kept = applySelected(v, selection.get(keyOf(ext.schema.id, name)), include);
        if (kept !== undefined) inner[name] = kept;
      }
      if (Object.keys(inner).length > 0) out[key] = inner;
      continue;
    }
    if (isAlways(rt, key)) {
      out[key] = value;
      continue;
    }
    const kept = applySelected(value, selection.get(key), include);
    if (kept !== undefined) out[key] = kept;
  }
  return out;
}
