import { ScimError } from './errors.js';
import { resolveAttribute } from './registry.js';
import type { Projection } from './query.js';
import type { ScimResource, ScimResourceType } from './schemas/types.js';
import { commonAttributes } from './schemas/common.js';

/** A resolved attribute selection: top-level key → undefined (whole value) or the set of sub-attribute names. */
type Selection = Map<string, Set<string> | undefined>;

/** Top-level keys always returned (RFC 7643 §2.2 `returned: always`, plus `schemas`). */
const ALWAYS = new Set(['schemas', 'id']);

function keyOf(extension: string | undefined, name: string): string {
  return extension ? `${extension}\u0000${name}` : name;
}

function select(rt: ScimResourceType, paths: readonly string[], param: string): Selection {
  const selection: Selection = new Map();
  for (const path of paths) {
    const ext = rt.extensions.find((e) => e.schema.id.toLowerCase() === path.toLowerCase());
    if (ext) {
      for (const a of ext.schema.attributes) selection.set(keyOf(ext.schema.id, a.name), undefined);
      continue;
    }
    const resolved = resolveAttribute(rt, path);
    // RFC 7644 §3.9 does not make an unknown name an error; a typo silently selecting nothing hides bugs,
    // so it is a 400 invalidValue that names the attribute.
    if (!resolved) throw ScimError.invalidValue(`Unknown attribute "${path}" in ${param}`);
    const key = keyOf(resolved.extension, resolved.attribute.name);
    if (!resolved.subAttribute) {
      selection.set(key, undefined);
    } else if (!selection.has(key) || selection.get(key) !== undefined) {
      const subs = selection.get(key) ?? new Set<string>();
      subs.add(resolved.subAttribute.name);
      selection.set(key, subs);
    }
  }
  return selection;
}

/** True when the projection returns `name` (used to skip loading members or groups). */
export function projectionIncludes(rt: ScimResourceType, projection: Projection, name: string): boolean {
  if (projection.attributes) return select(rt, projection.attributes, 'attributes').has(name);
  if (projection.excludedAttributes) {
    const excluded = select(rt, projection.excludedAttributes, 'excludedAttributes');
    return !(excluded.has(name) && excluded.get(name) === undefined);
  }
  return true;
}

/** Validates attribute names early (before any database work), throwing 400 on unknown ones. */
export function checkProjection(rt: ScimResourceType, projection: Projection): void {
  if (projection.attributes) select(rt, projection.attributes, 'attributes');
  if (projection.excludedAttributes) select(rt, projection.excludedAttributes, 'excludedAttributes');
}

function isAlways(rt: ScimResourceType, key: string): boolean {
  if (ALWAYS.has(key)) return true;
  const attribute = rt.schema.attributes.find((a) => a.name === key) ?? commonAttributes.find((a) => a.name === key);
  return attribute?.returned === 'always';
}

function pick(value: unknown, subs: Set<string>, keep: boolean): unknown {
  const filterObject = (obj: unknown): unknown => {
    if (typeof obj !== 'object' || obj === null) return obj;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) if (subs.has(k) === keep) out[k] = v;
    return out;
  };
  return Array.isArray(value) ? value.map(filterObject) : filterObject(value);
}

/** Applies `attributes` / `excludedAttributes` to a rendered resource (RFC 7644 §3.9, §3.4.2.5). */
export function project(rt: ScimResourceType, resource: ScimResource, projection: Projection): ScimResource {
  if (!projection.attributes && !projection.excludedAttributes) return resource;
  const include = projection.attributes !== undefined;
  const selection = select(rt, include ? projection.attributes! : projection.excludedAttributes!, include ? 'attributes' : 'excludedAttributes');
  const out: ScimResource = {};
  for (const [key, value] of Object.entries(resource)) {
    const ext = rt.extensions.find((e) => e.schema.id === key);
    if (ext && typeof value === 'object' && value !== null) {
      const inner: ScimResource = {};
      for (const [name, v] of Object.entries(value)) {
        const k = keyOf(ext.schema.id, name);
        const chosen = selection.has(k);
        const subs = selection.get(k);
        if (include) {
          if (chosen) inner[name] = subs ? pick(v, subs, true) : v;
        } else if (!chosen) inner[name] = v;
        else if (subs) inner[name] = pick(v, subs, false);
      }
      if (Object.keys(inner).length > 0) out[key] = inner;
      continue;
    }
    const chosen = selection.has(key);
    const subs = selection.get(key);
    if (isAlways(rt, key)) out[key] = value;
    else if (include) {
      if (chosen) out[key] = subs ? pick(value, subs, true) : value;
    } else if (!chosen) out[key] = value;
    else if (subs) out[key] = pick(value, subs, false);
  }
  return out;
}
