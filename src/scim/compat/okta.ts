import { isPlainObject } from './json.js';

/*
 * Okta provisioning quirks (research/scim-peers.md §b "Okta"; Okta's SCIM docs show
 * `User-Agent: Okta SCIM Client 1.0.0`). Okta's shapes are RFC-valid, so Okta needs no body rewriting:
 * pathless `{"active":false}` and `{"id":…,"displayName":…}` are handled by applyPatch (see ApplyPatchOptions.id).
 */

/** Okta's documented client User-Agent prefix. */
export const OKTA_USER_AGENT = /okta\s+scim\s+client/i;

/** Whether a PATCH body has Okta's group-push shape: a pathless replace whose value carries `id` and `displayName`. */
export function looksLikeOktaBody(body: unknown): boolean {
  if (!isPlainObject(body) || !Array.isArray(body.Operations)) return false;
  return body.Operations.some((op) => isPlainObject(op) && op.op === 'replace' && op.path === undefined
    && isPlainObject(op.value) && 'id' in op.value && 'displayName' in op.value);
}
