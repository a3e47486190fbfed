import type { InputLimits } from '../config.js';
import { coerceResourceBody } from './compat/coerce.js';
import type { ScimDialectSetting } from './compat/dialect.js';
import { normalizePatchRequest } from './compat/patch-body.js';
import { applyPatch, parsePatchRequest, type PatchResult } from './patch.js';
import type { ScimResource, ScimResourceType } from './schemas/types.js';

/** The request facts the IdP dialect is recognised from (research §b), plus the tenant's override. */
export interface RequestDialect {
  readonly setting: ScimDialectSetting;
  readonly userAgent?: string;
  readonly query?: Readonly<Record<string, unknown>>;
}

/**
 * Normalises a PATCH body for its dialect, parses it and applies it to the stored JSON (pure). `limits`
 * bound its paths and multi-valued lists; the caller validates the patched resource's values.
 */
export function patchResource(rt: ScimResourceType, stored: ScimResource, id: string, body: unknown, dialect: RequestDialect, limits?: InputLimits): PatchResult {
  const normalized = normalizePatchRequest(rt, body, {
    dialect: dialect.setting,
    userAgent: dialect.userAgent,
    query: dialect.query,
    resourceId: id,
    ...(limits ? { limits } : {}),
  });
  return applyPatch(rt, stored, parsePatchRequest(normalized.body), { ...normalized.options, ...(limits ? { limits } : {}) });
}

/** POST/PUT bodies get the same IdP value coercions as PATCH, unless the tenant asked for strict RFC. */
export function coerceBody(rt: ScimResourceType, body: unknown, dialect: RequestDialect | undefined): unknown {
  return dialect?.setting === 'rfc' ? body : coerceResourceBody(rt, body);
}
