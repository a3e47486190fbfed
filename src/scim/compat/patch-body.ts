import { ScimError } from '../errors.js';
import type { FilterLimits } from '../limits.js';
import type { ApplyPatchOptions } from '../patch.js';
import { parsePatchPath } from '../path.js';
import type { ScimResourceType } from '../schemas/types.js';
import { coerceAttributeValue, coerceElement, coerceSchemaObject } from './coerce.js';
import { dialectProfile, resolveDialect, type DialectSignals, type ScimDialect, type ScimDialectSetting } from './dialect.js';
import { isPlainObject } from './json.js';

/** The request facts PATCH normalisation needs, besides the body. */
export interface PatchRequestContext extends Omit<DialectSignals, 'body'> {
  /** The tenant's setting; defaults to `auto`. */
  readonly dialect?: ScimDialectSetting;
  /** The id of the resource being patched, so a pathless `"id"` equal to it is ignored (Okta). */
  readonly resourceId?: string;
  /** Limits on paths and their value filters (`config.scim.limits`); defaults when absent. */
  readonly limits?: FilterLimits;
}

/** A PATCH body made ready for parsePatchRequest, with the applyPatch options its dialect needs. */
export interface NormalizedPatch {
  readonly dialect: ScimDialect;
  readonly body: unknown;
  readonly options: ApplyPatchOptions;
}

/** Coerces `value` as the value of the PATCH target `path`; a path that does not parse is left for applyPatch to reject. */
function coerceForPath(rt: ScimResourceType, path: string, value: unknown, limits: FilterLimits | undefined): unknown {
  let target;
  try {
    target = parsePatchPath(rt, path, limits);
  } catch (e) {
    if (e instanceof ScimError) return value;
    throw e;
  }
  if (target.kind === 'extension') return coerceSchemaObject(target.schema, value);
  if (target.subAttribute) return coerceAttributeValue(target.subAttribute, value);
  // `emails[type eq "work"]` addresses elements, so its value is one element, not the list.
  if (target.filter) return coerceElement(target.attribute, value);
  return coerceAttributeValue(target.attribute, value);
}

function coercePathless(rt: ScimResourceType, value: unknown, limits: FilterLimits | undefined): unknown {
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // Keys are attribute names, flat dotted paths or URN-qualified paths (Entra aadOptscim062020).
    out[k] = k.toLowerCase() === 'id' || k.toLowerCase() === 'schemas' ? v : coerceForPath(rt, k, v, limits);
  }
  return out;
}

/**
 * Normalises a PATCH request body for its IdP dialect (see dialect.ts for detection and choices) and
 * returns the applyPatch options to use. Pure: returns a new body, never mutates `body`.
 * Usage: `const n = normalizePatchRequest(rt, body, ctx); applyPatch(rt, stored, parsePatchRequest(n.body), n.options)`.
 */
export function normalizePatchRequest(rt: ScimResourceType, body: unknown, ctx: PatchRequestContext = {}): NormalizedPatch {
  const dialect = resolveDialect(ctx.dialect ?? 'auto', { ...ctx, body });
  const profile = dialectProfile(dialect);
  const options: ApplyPatchOptions = {
    ...(ctx.resourceId === undefined ? {} : { id: ctx.resourceId }),
    createOnUnmatchedFilter: profile.createOnUnmatchedFilter,
  };
  if (!profile.coerceValues || !isPlainObject(body) || !Array.isArray(body.Operations)) return { dialect, body, options };
  const Operations = body.Operations.map((op: unknown) => {
    if (!isPlainObject(op) || op.value === undefined) return op;
    const path = op.path;
    const value = typeof path === 'string' && path.trim() !== '' ? coerceForPath(rt, path, op.value, ctx.limits) : coercePathless(rt, op.value, ctx.limits);
    return { ...op, value };
  });
  return { dialect, body: { ...body, Operations }, options };
}
