import { isPlainObject } from './json.js';

/*
 * Microsoft Entra ID provisioning quirks (research/scim-peers.md §b "Microsoft Entra ID"; Microsoft Learn
 * "Known issues and resolutions with SCIM 2.0 protocol compliance").
 */

/** Query flags Entra carries from the Tenant URL: `aadOptscim062020` opts into RFC-compliant PATCH, `AzureAdScimPatch2017` reverts it. */
export const ENTRA_QUERY_FLAGS = ['aadoptscim062020', 'azureadscimpatch2017'] as const;

/** The legacy schema URN Entra adds to POST /Groups (research §b). */
export const ENTRA_LEGACY_GROUP_SCHEMA = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';

const CAPITALISED_OPS = new Set(['Add', 'Replace', 'Remove']);

/**
 * Whether a request body carries a shape only Entra sends: capitalised `op` (default job), a capitalised
 * `"True"`/`"False"` string for `active`, or the legacy ADSCIM group schema.
 */
export function looksLikeEntraBody(body: unknown): boolean {
  if (!isPlainObject(body)) return false;
  const schemas = body.schemas;
  if (Array.isArray(schemas) && schemas.includes(ENTRA_LEGACY_GROUP_SCHEMA)) return true;
  const ops = body.Operations;
  if (!Array.isArray(ops)) return false;
  return ops.some((op) => isPlainObject(op) && (
    (typeof op.op === 'string' && CAPITALISED_OPS.has(op.op))
    || (typeof op.path === 'string' && op.path.toLowerCase() === 'active' && (op.value === 'True' || op.value === 'False'))));
}

/**
 * Entra's AppRoleAssignmentsComplex sends each role as a JSON string, either as the element or inside
 * `value`: `{"value":"{\"id\":\"…\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}` (SCIM-SDK#516).
 * Returns the role as `{value, display?, type?, primary?}`, or undefined when `text` is not such a string.
 */
export function parseEntraRoleString(text: string): Record<string, unknown> | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!isPlainObject(parsed)) return undefined;
  const value = parsed.value ?? parsed.id;
  if (typeof value !== 'string') return undefined;
  const role: Record<string, unknown> = { value };
  const display = parsed.displayName ?? parsed.display;
  if (typeof display === 'string') role.display = display;
  if (typeof parsed.type === 'string') role.type = parsed.type;
  if (typeof parsed.primary === 'boolean') role.primary = parsed.primary;
  return role;
}
