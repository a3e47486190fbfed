/**
 * SCIM attribute → Auth0 field mapping (issue 6 "the mapping of SCIM attributes to Auth0 profile and
 * app_metadata"). Paths are resolved with the SCIM PATCH path parser so `name.givenName`,
 * `emails[type eq "work"].value` and URN-qualified enterprise attributes mean what RFC 7644 §3.10 says.
 */
import { ScimError } from '../scim/errors.js';
import { parsePatchPath } from '../scim/path.js';
import { userResourceType } from '../scim/registry.js';
import { matchesValueFilter } from '../scim/value-filter.js';
import type { AttributeMapping } from './types.js';

/** Root user fields `PATCH /users/{id}` accepts as profile (research/auth0.md §1.4 UpdateUserRequestContent). */
export const AUTH0_PROFILE_FIELDS: readonly string[] = [
  'given_name', 'family_name', 'name', 'nickname', 'picture', 'email', 'phone_number', 'username',
];

/** A sensible starting mapping for new bindings (core SCIM name parts → Auth0 root fields). */
export const DEFAULT_ATTRIBUTE_MAPPING: readonly AttributeMapping[] = [
  { scim: 'name.givenName', auth0: 'given_name' },
  { scim: 'name.familyName', auth0: 'family_name' },
  { scim: 'displayName', auth0: 'name' },
];

/** Result of mapping one resource: every mapped key is present, `null` when the SCIM value is absent. */
export interface MappedAttributes {
  profile: Record<string, unknown>;
  appMetadata: Record<string, unknown>;
  warnings: string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Reads a key case-insensitively: attribute names are case-insensitive (RFC 7643 §2.1). */
function readKey(obj: unknown, key: string): unknown {
  if (!isRecord(obj)) return undefined;
  if (key in obj) return obj[key];
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** The primary element of a multi-valued attribute, else the first (RFC 7643 §2.4 `primary`). */
function pickElement(elements: readonly unknown[]): unknown {
  return elements.find((e) => readKey(e, 'primary') === true || readKey(e, 'primary') === 'true') ?? elements[0];
}

/** Dotted read for attributes of schemas the registry does not know (custom IdP extensions). */
function readUnknownPath(resource: Record<string, unknown>, path: string): unknown {
  let container: unknown = resource;
  let rest = path;
  const urnKey = Object.keys(resource)
    .filter((k) => k.toLowerCase().startsWith('urn:') && path.toLowerCase().startsWith(`${k.toLowerCase()}:`))
    .sort((a, b) => b.length - a.length)[0];
  if (urnKey !== undefined) {
    container = resource[urnKey];
    rest = path.slice(urnKey.length + 1);
  }
  for (const part of rest.split('.')) container = readKey(container, part);
  return container;
}

/**
 * Reads a SCIM attribute path from a User resource. Multi-valued attributes yield the element chosen by
 * the value filter (primary first) or, without one, the primary/first element's sub-attribute; without a
 * sub-attribute the whole (filtered) array. Returns `undefined` when absent; throws `ScimError` for a path
 * that names no attribute of a known schema.
 */
export function readScimPath(resource: Record<string, unknown>, path: string): unknown {
  let parsed;
  try {
    parsed = parsePatchPath(userResourceType, path);
  } catch (e) {
    if (e instanceof ScimError && path.toLowerCase().startsWith('urn:')) return readUnknownPath(resource, path);
    throw e;
  }
  if (parsed.kind === 'extension') return readKey(resource, parsed.schema.id);
  const container = parsed.extension !== undefined ? readKey(resource, parsed.extension) : resource;
  const value = readKey(container, parsed.attribute.name);
  const sub = parsed.subAttribute;
  if (!parsed.attribute.multiValued) return sub ? readKey(value, sub.name) : value;
  if (!Array.isArray(value)) return undefined;
  const filter = parsed.filter;
  const elements = filter ? value.filter((e) => matchesValueFilter(parsed.attribute, e, filter)) : value;
  if (!sub) return filter ? pickElement(elements) : elements;
  const chosen = pickElement(elements);
  return readKey(chosen, sub.name);
}

/** Coerces a SCIM value for a root profile field: strings only, '' is "unset" (Auth0 rejects empty names). */
function profileValue(v: unknown, label: string, warnings: string[]): string | null | undefined {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  warnings.push(`mapping ${label} skipped: the SCIM value is not a string`);
  return undefined;
}

/** Sets `app_metadata.<a>.<b>` inside `target`, building objects; null/undefined leaves the key out. */
function setNested(target: Record<string, unknown>, keys: readonly string[], value: unknown): void {
  let obj = target;
  for (const k of keys.slice(0, -1)) {
    const next = obj[k];
    if (isRecord(next)) obj = next;
    else obj = obj[k] = {};
  }
  const last = keys[keys.length - 1];
  if (last !== undefined && value !== undefined && value !== null) obj[last] = value;
}

/** Drops empty nested objects so "all sub-keys absent" becomes `null` for the first-level key. */
function emptyToNull(v: unknown): unknown {
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const y = emptyToNull(x);
    if (y !== null) out[k] = y;
  }
  return Object.keys(out).length === 0 ? null : out;
}

/**
 * Maps a SCIM User resource through `mapping`. Several mappings to one target form a fallback chain:
 * the first non-null value wins. `reservedAppMetadataKeys` (e.g. `organizations` in the shared model)
 * cannot be mapped. Auth0 metadata keys must not contain `$` (research/auth0.md §1.4).
 */
export function mapAttributes(
  resource: Record<string, unknown>,
  mapping: readonly AttributeMapping[],
  reservedAppMetadataKeys: readonly string[] = [],
): MappedAttributes {
  const profile: Record<string, unknown> = {};
  const appMetadata: Record<string, unknown> = {};
  const warnings: string[] = [];
  for (const m of mapping) {
    let raw: unknown;
    try {
      raw = readScimPath(resource, m.scim);
    } catch (e) {
      warnings.push(`mapping ${m.scim} → ${m.auth0} skipped: ${(e as Error).message}`);
      continue;
    }
    if (m.auth0.startsWith('app_metadata.')) {
      const keys = m.auth0.slice('app_metadata.'.length).split('.');
      const first = keys[0] ?? '';
      if (keys.some((k) => k === '' || k.includes('$'))) {
        warnings.push(`mapping ${m.scim} → ${m.auth0} skipped: app_metadata keys must be non-empty and free of "$"`);
        continue;
      }
      if (reservedAppMetadataKeys.includes(first)) {
        warnings.push(`mapping ${m.scim} → ${m.auth0} skipped: app_metadata.${first} is maintained by Provisio`);
        continue;
      }
      if (!(first in appMetadata)) appMetadata[first] = keys.length === 1 ? null : {};
      if (keys.length === 1) {
        if (appMetadata[first] === null && raw !== undefined && raw !== null) appMetadata[first] = raw;
      } else if (isRecord(appMetadata[first])) {
        const sub = appMetadata[first] as Record<string, unknown>;
        const already = keys.slice(1).reduce<unknown>((o, k) => readKey(o, k), sub);
        if (already === undefined) setNested(sub, keys.slice(1), raw);
      }
      continue;
    }
    if (!AUTH0_PROFILE_FIELDS.includes(m.auth0)) {
      warnings.push(`mapping ${m.scim} → ${m.auth0} skipped: "${m.auth0}" is not an Auth0 profile field (${AUTH0_PROFILE_FIELDS.join(', ')}) or app_metadata.<key>`);
      continue;
    }
    const v = profileValue(raw, `${m.scim} → ${m.auth0}`, warnings);
    if (v === undefined) continue;
    if (profile[m.auth0] === undefined || profile[m.auth0] === null) profile[m.auth0] = v;
  }
  for (const [k, v] of Object.entries(appMetadata)) appMetadata[k] = emptyToNull(v);
  return { profile, appMetadata, warnings };
}
