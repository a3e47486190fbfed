/**
 * Identifier and secret generation. All randomness comes from `node:crypto`; nothing credential-like is
 * hard-coded. Shapes follow research/auth0.md §1.1 (`con_` + 16 alnum is the spec's pattern; orgs and
 * roles use the same length so they pass the spec's `organization-id`/`role-id` formats).
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `n` random characters from [A-Za-z0-9]. */
export function randomAlnum(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += ALNUM[randomInt(ALNUM.length)];
  return out;
}

/** `n` random lowercase hex characters. */
export function randomHex(n: number): string {
  return randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
}

export const newOrganizationId = (): string => `org_${randomAlnum(16)}`;
export const newRoleId = (): string => `rol_${randomAlnum(16)}`;
export const newConnectionId = (): string => `con_${randomAlnum(16)}`;
export const newInvitationId = (): string => `uinv_${randomAlnum(16)}`;
export const newTicketId = (): string => randomAlnum(32);
export const newSessionId = (): string => randomAlnum(24);
/** Database users are `auth0|<24 hex>` (docs:/manage-users/user-accounts/identify-users). */
export const newDatabaseUserId = (): string => randomHex(24);
export const newClientId = (): string => randomAlnum(32);
export const newClientSecret = (): string => randomBytes(48).toString('base64url');
export const newAccessToken = (): string => randomBytes(32).toString('base64url');
export const newScimTokenId = (): string => `tok_${randomAlnum(16)}`;
/** Actions, their versions and trigger bindings have UUIDs (spec examples `910b1053-577f-4d81-…`). */
export const newActionId = (): string => randomUUID();
