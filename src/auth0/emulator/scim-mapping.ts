/**
 * Auth0 inbound SCIM user mapping (pure): SCIM User ↔ emulator user under the emulator's fixed subset of
 * Auth0's default mapping (scim-config.ts), and SCIM PATCH operations (RFC 7644 §3.5.2) on that subset.
 * SCIM `id` is the Auth0 `user_id` (docs:/authenticate/protocols/scim/configure-inbound-scim); `active`
 * maps inverted onto `blocked`.
 */
import { isRecord } from './metadata.js';
import type { EmuUser } from './types.js';

export const SCIM_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SCIM_LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const SCIM_PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** A SCIM protocol error (RFC 7644 §3.12). */
export class ScimEmuError extends Error {
  constructor(readonly status: number, detail: string, readonly scimType?: string) {
    super(detail);
  }

  toBody(): Record<string, unknown> {
    return { schemas: [SCIM_ERROR_SCHEMA], status: String(this.status), detail: this.message, ...(this.scimType ? { scimType: this.scimType } : {}) };
  }
}

/** The mapped attributes of a SCIM user, as stored on the Auth0 user. */
export interface ScimUserFields {
  userName?: string;
  externalId?: string;
  email?: string;
  displayName?: string;
  givenName?: string;
  familyName?: string;
  active?: boolean;
}

/** IdPs send booleans as strings ("False": Entra ID); RFC 7643 says boolean. Accept both. */
function toBool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  return undefined;
}

function primaryEmail(emails: unknown): string | undefined {
  if (!Array.isArray(emails)) return undefined;
  const records = emails.filter(isRecord);
  const chosen = records.find((e) => toBool(e['primary']) === true) ?? records[0];
  return typeof chosen?.['value'] === 'string' ? chosen['value'] : undefined;
}

/** Reads the mapped attributes from a SCIM User resource body. */
export function readScimUser(body: unknown): ScimUserFields {
  if (!isRecord(body)) throw new ScimEmuError(400, 'Request body must be a SCIM User object', 'invalidSyntax');
  const out: ScimUserFields = {};
  if (typeof body['userName'] === 'string') out.userName = body['userName'];
  if (typeof body['externalId'] === 'string') out.externalId = body['externalId'];
  if (typeof body['displayName'] === 'string') out.displayName = body['displayName'];
  const email = primaryEmail(body['emails']);
  if (email !== undefined) out.email = email;
  const name = body['name'];
  if (isRecord(name)) {
    if (typeof name['givenName'] === 'string') out.givenName = name['givenName'];
    if (typeof name['familyName'] === 'string') out.familyName = name['familyName'];
  }
  const active = toBool(body['active']);
  if (active !== undefined) out.active = active;
  return out;
}

/** Writes mapped attributes onto the Auth0 user (an `undefined` field is left as is). */
export function applyScimFields(user: EmuUser, f: ScimUserFields): void {
  if (f.userName !== undefined) user.username = f.userName;
  if (f.externalId !== undefined) user.app_metadata = { ...user.app_metadata, external_id: f.externalId };
  if (f.email !== undefined) user.email = f.email.toLowerCase();
  if (f.displayName !== undefined) user.name = f.displayName;
  if (f.givenName !== undefined) user.given_name = f.givenName;
  if (f.familyName !== undefined) user.family_name = f.familyName;
  if (f.active !== undefined) {
    if (f.active) delete user.blocked;
    else user.blocked = true;
  }
}

/** The SCIM User representation of an Auth0 user. */
export function scimUserView(user: EmuUser, location: string): Record<string, unknown> {
  const view: Record<string, unknown> = { schemas: [SCIM_USER_SCHEMA], id: user.user_id };
  const externalId = user.app_metadata['external_id'];
  if (typeof externalId === 'string') view['externalId'] = externalId;
  view['userName'] = user.username ?? user.email ?? user.user_id;
  if (user.given_name !== undefined || user.family_name !== undefined) {
    view['name'] = { ...(user.given_name ? { givenName: user.given_name } : {}), ...(user.family_name ? { familyName: user.family_name } : {}) };
  }
  view['displayName'] = user.name;
  if (user.email) view['emails'] = [{ value: user.email, primary: true, type: 'work' }];
  view['active'] = user.blocked !== true;
  view['meta'] = { resourceType: 'User', created: user.created_at, lastModified: user.updated_at, location };
  return view;
}

/** Applies SCIM PATCH operations (paths in the mapped subset; no-path ops with an object value). */
export function applyScimPatch(user: EmuUser, body: unknown): { deactivated: boolean } {
  if (!isRecord(body) || !Array.isArray(body['Operations'])) {
    throw new ScimEmuError(400, 'PATCH body must contain Operations', 'invalidSyntax');
  }
  const wasBlocked = user.blocked === true;
  for (const raw of body['Operations']) {
    if (!isRecord(raw)) throw new ScimEmuError(400, 'Each operation must be an object', 'invalidSyntax');
    const op = String(raw['op'] ?? '').toLowerCase();
    if (!['add', 'replace', 'remove'].includes(op)) throw new ScimEmuError(400, `Unsupported op ${String(raw['op'])}`, 'invalidSyntax');
    const path = typeof raw['path'] === 'string' ? raw['path'] : undefined;
    const value = raw['value'];
    if (path === undefined) {
      if (!isRecord(value)) throw new ScimEmuError(400, 'An operation without path needs an object value', 'invalidValue');
      // Entra sends dotted keys ("name.givenName") in no-path replace values.
      const expanded: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (k.startsWith('name.')) expanded['name'] = { ...(isRecord(expanded['name']) ? expanded['name'] : {}), [k.slice(5)]: v };
        else expanded[k] = v;
      }
      applyScimFields(user, readScimUser(expanded));
      continue;
    }
    applyPath(user, op, path, value);
  }
  return { deactivated: !wasBlocked && user.blocked === true };
}

function applyPath(user: EmuUser, op: string, path: string, value: unknown): void {
  const p = path.toLowerCase();
  const remove = op === 'remove';
  const str = (): string => {
    if (typeof value !== 'string') throw new ScimEmuError(400, `${path} must be a string`, 'invalidValue');
    return value;
  };
  if (p === 'active') {
    const active = remove ? true : toBool(value);
    if (active === undefined) throw new ScimEmuError(400, 'active must be a boolean', 'invalidValue');
    applyScimFields(user, { active });
  } else if (p === 'username') {
    if (remove) throw new ScimEmuError(400, 'userName is required', 'mutability');
    user.username = str();
  } else if (p === 'externalid') {
    throw new ScimEmuError(400, 'externalId builds the user id and cannot change', 'mutability');
  } else if (p === 'displayname') {
    if (!remove) user.name = str();
  } else if (p === 'name.givenname') {
    if (remove) delete user.given_name;
    else user.given_name = str();
  } else if (p === 'name.familyname') {
    if (remove) delete user.family_name;
    else user.family_name = str();
  } else if (p === 'emails' || /^emails\[.*\]\.value$/.test(p)) {
    if (remove) delete user.email;
    else {
      const email = p === 'emails' ? primaryEmail(value) : str();
      if (email !== undefined) user.email = email.toLowerCase();
    }
  } else {
    throw new ScimEmuError(400, `Attribute ${path} is not mapped on this connection`, 'invalidPath');
  }
}

/** `attr eq "value"` terms joined by `and` / `or` (Auth0: Users filter supports eq, and, or). */
export function scimFilter(filter: string): (user: EmuUser) => boolean {
  const orParts = filter.split(/\s+or\s+/i);
  const groups = orParts.map((part) =>
    part.split(/\s+and\s+/i).map((term) => {
      const m = /^\s*([\w.]+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i.exec(term);
      if (!m?.[1]) throw new ScimEmuError(400, `Unsupported filter: ${term}`, 'invalidFilter');
      const attr = m[1].toLowerCase();
      const value = (m[2] ?? '').replace(/\\(.)/g, '$1');
      return (u: EmuUser): boolean => {
        const view = scimUserView(u, '');
        if (attr === 'username') return String(view['userName']).toLowerCase() === value.toLowerCase();
        if (attr === 'externalid') return view['externalId'] === value;
        if (attr === 'id') return u.user_id === value;
        if (attr === 'displayname') return u.name === value;
        if (attr === 'emails.value' || attr === 'emails') return (u.email ?? '') === value.toLowerCase();
        throw new ScimEmuError(400, `Unsupported filter attribute: ${m[1]}`, 'invalidFilter');
      };
    }),
  );
  return (u) => groups.some((terms) => terms.every((t) => t(u)));
}
