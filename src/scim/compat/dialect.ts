import type { ApplyPatchOptions } from '../patch.js';
import { ENTRA_QUERY_FLAGS, looksLikeEntraBody } from './entra.js';
import { OKTA_USER_AGENT, looksLikeOktaBody } from './okta.js';

/**
 * The SCIM client dialects Provisio knows. `rfc` is strict RFC 7644 (no rewriting, opt-in only);
 * `generic` is the lenient default for a client we do not recognise.
 */
export const SCIM_DIALECTS = ['rfc', 'generic', 'entra', 'okta', 'onelogin', 'jumpcloud'] as const;

/** A dialect, see SCIM_DIALECTS. */
export type ScimDialect = (typeof SCIM_DIALECTS)[number];

/** A tenant's dialect setting: `auto` recognises the client from the request, anything else forces it. */
export type ScimDialectSetting = 'auto' | ScimDialect;

/** What of the HTTP request the dialect is recognised from. */
export interface DialectSignals {
  readonly userAgent?: string;
  /** The request's query: a parsed object (Fastify `request.query`), URLSearchParams, or the raw URL/query string. */
  readonly query?: Readonly<Record<string, unknown>> | URLSearchParams | string;
  readonly body?: unknown;
}

/** How a dialect changes PATCH processing. */
export interface DialectProfile {
  readonly dialect: ScimDialect;
  /** Apply the schema-driven value coercions of compat/coerce.ts. */
  readonly coerceValues: boolean;
  /** Passed to applyPatch (RFC 7644 leaves add-to-unmatched-filter open; replace is noTarget by the RFC). */
  readonly createOnUnmatchedFilter: NonNullable<ApplyPatchOptions['createOnUnmatchedFilter']>;
}

function queryKeys(query: DialectSignals['query']): string[] {
  if (query === undefined) return [];
  if (typeof query === 'string') {
    const q = query.includes('?') ? query.slice(query.indexOf('?') + 1) : query;
    return [...new URLSearchParams(q).keys()];
  }
  if (query instanceof URLSearchParams) return [...query.keys()];
  return Object.keys(query);
}

/** True when the request carries Entra's `aadOptscim062020` (or `AzureAdScimPatch2017`) Tenant URL flag. */
export function hasEntraQueryFlag(query: DialectSignals['query']): boolean {
  return queryKeys(query).some((k) => (ENTRA_QUERY_FLAGS as readonly string[]).includes(k.toLowerCase()));
}

/**
 * Recognises the client from the request itself, first match wins: (1) Entra's Tenant URL query flag;
 * (2) User-Agent: `Okta SCIM Client` → okta, `OneLogin` → onelogin, `JumpCloud` → jumpcloud,
 * `Azure`/`AAD`/`Entra`/`Microsoft` → entra; (3) body: Entra-only shapes (capitalised op, `"active":"False"`,
 * the ADSCIM group schema) → entra, Okta's pathless `{id, displayName}` replace → okta; (4) `generic`.
 */
export function detectDialect(signals: DialectSignals): Exclude<ScimDialect, 'rfc'> {
  if (hasEntraQueryFlag(signals.query)) return 'entra';
  const ua = signals.userAgent ?? '';
  if (OKTA_USER_AGENT.test(ua)) return 'okta';
  if (/onelogin/i.test(ua)) return 'onelogin';
  if (/jumpcloud/i.test(ua)) return 'jumpcloud';
  if (/\b(azure|aad|entra|microsoft)/i.test(ua)) return 'entra';
  if (looksLikeEntraBody(signals.body)) return 'entra';
  if (looksLikeOktaBody(signals.body)) return 'okta';
  return 'generic';
}

/** The effective dialect: the tenant's forced setting, or the detected one for `auto`. */
export function resolveDialect(setting: ScimDialectSetting, signals: DialectSignals): ScimDialect {
  return setting === 'auto' ? detectDialect(signals) : setting;
}

/**
 * The PATCH behaviour of each dialect. Documented choices:
 * - `rfc`: no coercion; add or replace through a value filter that matches nothing is `noTarget`.
 * - every other dialect coerces values. An `add` through an unmatched filter creates the value from the
 *   filter's `eq` terms (RFC 7644 §3.5.2.1: "If the target location does not exist, the attribute and value
 *   are added"); needed for Entra's `Add emails[type eq "work"].value` (research §b [J6 #416]).
 * - `entra` also creates on `replace`: Entra sends `Replace emails[type eq "work"].value` whether or not a
 *   work email exists, and a 400 sends the user to escrow and quarantine. RFC 7644 §3.5.2.3 says noTarget,
 *   which every other dialect keeps.
 */
export function dialectProfile(dialect: ScimDialect): DialectProfile {
  switch (dialect) {
    case 'rfc':
      return { dialect, coerceValues: false, createOnUnmatchedFilter: { add: false, replace: false } };
    case 'entra':
      return { dialect, coerceValues: true, createOnUnmatchedFilter: { add: true, replace: true } };
    default:
      return { dialect, coerceValues: true, createOnUnmatchedFilter: { add: true, replace: false } };
  }
}
