/**
 * Okta object ids: a three-character type prefix (`00u` users, `00g` groups, `0oa` apps) and 17 random
 * alphanumerics, 20 characters in all (developer.okta.com/docs/reference/api/users, example ids).
 */
import { randomBytes, randomInt } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomAlnum(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += ALNUM[randomInt(ALNUM.length)];
  return out;
}

export const newUserId = (): string => `00u${randomAlnum(17)}`;
export const newGroupId = (): string => `00g${randomAlnum(17)}`;
/** Error ids start with `oae` in real answers. */
export const newErrorId = (): string => `oae${randomAlnum(19)}`;
/** Activation tokens are 20 opaque characters. */
export const newActivationToken = (): string => randomAlnum(20);
/** OAuth client ids of apps start with `0oa` (an app object id). */
export const newClientId = (): string => `0oa${randomAlnum(17)}`;
/** Opaque access tokens: 43 random URL-safe characters, unguessable. */
export const newAccessToken = (): string => randomBytes(32).toString('base64url');
