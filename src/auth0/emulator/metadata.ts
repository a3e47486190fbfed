/**
 * Metadata rules shared by users and organizations. `PATCH /users/{id}` merges `app_metadata` and
 * `user_metadata` at the first level only and a `null` value removes the key (spec
 * UpdateUserRequestContent description); metadata field names must not contain `.` or `$`
 * (docs:/manage-users/user-accounts/metadata/metadata-fields-data).
 */
import { invalidBody } from './errors.js';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Throws 400 when a metadata key (at any depth) contains `.` or `$`. */
export function checkMetadataKeys(value: unknown, property: string): void {
  if (Array.isArray(value)) {
    for (const item of value) checkMetadataKeys(item, property);
    return;
  }
  if (!isRecord(value)) return;
  for (const [k, v] of Object.entries(value)) {
    if (k.includes('.') || k.includes('$')) {
      throw invalidBody(`Payload validation error: 'Invalid property name "${k}"' on property ${property} (metadata keys cannot contain "." or "$").`);
    }
    checkMetadataKeys(v, property);
  }
}

/** First-level merge: keys in `patch` replace those in `base`; `null` deletes. Returns a new object. */
export function mergeFirstLevel(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}
