import { DuplicateError, MissingReferenceError } from '../db/errors.js';
import { DISPLAY_NAME_UNIQUE, MEMBER_FOREIGN_KEYS } from '../db/groups.js';
import { USER_NAME_UNIQUE } from '../db/users.js';
import { ScimError } from './errors.js';

/**
 * The SCIM error for a storage error a repository reported, or undefined when it is not the client's
 * doing: a taken userName or group name is the 409 `uniqueness` (RFC 7644 §3.3, §3.12); a member deleted
 * by a concurrent request before the add's foreign-key check is a 400, as any unknown member id is.
 */
export function storageToScimError(err: unknown): ScimError | undefined {
  if (err instanceof DuplicateError) {
    if (err.constraint === USER_NAME_UNIQUE) return ScimError.uniqueness(`userName "${err.value}" is already in use`);
    if (err.constraint === DISPLAY_NAME_UNIQUE) return ScimError.uniqueness(`A group named "${err.value}" already exists`);
  }
  if (err instanceof MissingReferenceError && MEMBER_FOREIGN_KEYS.includes(err.constraint)) {
    return ScimError.invalidValue('Unknown member id(s): a member was deleted while this request ran');
  }
  return undefined;
}

/** Awaits a repository write, rethrowing its storage errors as SCIM errors: services throw `ScimError` at clients. */
export async function mapStorageErrors<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    throw storageToScimError(err) ?? err;
  }
}
