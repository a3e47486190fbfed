/**
 * Customer setup links and console sign-in codes.
 *
 * A setup link hands a customer's IT admin, who has no Provisio account, a delegated session for one
 * tenant: the same reach as a delegated admin token, and nothing more. Its secret (`pvl_` + 256 random
 * bits) travels in the URL's fragment (`/console/setup#pvl_…`), which browsers never send to a server, so
 * it does not land in access logs, proxies or `Referer` headers; the console reads it and sends it as a
 * bearer token. Stored as SHA-256 like every other token, always with an expiry (default 7 days, at most
 * 90), revocable at once.
 *
 * A sign-in code (`pvs_`) is the operator's one-time console sign-in link printed by the zero-config
 * start: spent on first use, valid for an hour, exchanged for an operator token that lasts 12 hours.
 */
import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import * as repo from '../db/admin-tokens.js';
import type { AdminTokenRow, Database } from '../db/schema.js';
import { issueAdminToken } from './admin-tokens.js';
import { hashToken, listedToken, newSecretToken, parseExpiry, TokenInputError } from './tokens.js';

export const SETUP_LINK_PREFIX = 'pvl_';
export const SIGN_IN_CODE_PREFIX = 'pvs_';

const DEFAULT_LINK_LIFETIME = '7d';
const MAX_LINK_LIFETIME_MS = 90 * 86_400_000;
const SIGN_IN_CODE_LIFETIME = '60m';
const CONSOLE_SESSION_LIFETIME = '12h';

export interface SetupLinkInfo {
  readonly id: string;
  readonly label: string;
  readonly prefix: string;
  readonly tenant: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
  readonly status: 'active' | 'expired' | 'revoked';
}

export function setupLinkInfo(row: AdminTokenRow & { tenant_name: string | null }, now = new Date()): SetupLinkInfo {
  return { ...listedToken(row, now), tenant: row.tenant_name ?? '', expiresAt: row.expires_at!.toISOString() };
}

/** Where the link opens: the console's setup page, the secret in the fragment. */
export function setupLinkUrl(origin: string, secret: string): string {
  return `${origin.replace(/\/+$/, '')}/console/setup#${secret}`;
}

/** Creates a setup link for one tenant; the secret and the URL are shown once. */
export async function createSetupLink(
  db: Kysely<Database>,
  origin: string,
  tenant: { id: string; name: string },
  options: { label?: string; expiresIn?: string } = {},
  now = new Date(),
): Promise<{ url: string; secret: string; info: SetupLinkInfo }> {
  const expiresAt = parseExpiry(options.expiresIn ?? DEFAULT_LINK_LIFETIME, now);
  if (!expiresAt) throw new TokenInputError('a setup link always expires: give a duration such as 7d or 48h');
  if (expiresAt.getTime() - now.getTime() > MAX_LINK_LIFETIME_MS) throw new TokenInputError('a setup link lasts at most 90 days; issue a delegated admin token for lasting access');
  const { token: secret, hash, displayPrefix } = newSecretToken(SETUP_LINK_PREFIX);
  const row = await repo.insertAdminToken(db, {
    id: uuidv7(), tenantId: tenant.id, label: options.label ?? 'setup link', hash, prefix: displayPrefix, expiresAt, kind: 'setup-link',
  });
  return { url: setupLinkUrl(origin, secret), secret, info: setupLinkInfo({ ...row, tenant_name: tenant.name }, now) };
}

/** A one-time console sign-in code for an operator (the zero-config start prints it as a link). */
export async function createSignInCode(db: Kysely<Database>, now = new Date()): Promise<string> {
  const { token, hash, displayPrefix } = newSecretToken(SIGN_IN_CODE_PREFIX);
  await repo.insertAdminToken(db, {
    id: uuidv7(), tenantId: null, label: 'console sign-in code', hash, prefix: displayPrefix, expiresAt: parseExpiry(SIGN_IN_CODE_LIFETIME, now), kind: 'sign-in',
  });
  return token;
}

/** The console URL that signs an operator in with a fresh one-time code. */
export function signInUrl(origin: string, code: string): string {
  return `${origin.replace(/\/+$/, '')}/console/#sign-in=${code}`;
}

/**
 * Spends a sign-in code for an operator session token (12 hours). Undefined when the code is unknown,
 * spent or expired: one answer for all three.
 */
export async function exchangeSignInCode(db: Kysely<Database>, code: string, now = new Date()): Promise<{ token: string; expiresAt: string } | undefined> {
  if (!code.startsWith(SIGN_IN_CODE_PREFIX) || code.length > 200) return undefined;
  if (!(await repo.spendSignInCode(db, hashToken(code), now))) return undefined;
  const issued = await issueAdminToken(db, { label: 'console session', expiresIn: CONSOLE_SESSION_LIFETIME });
  return { token: issued.token, expiresAt: issued.info.expiresAt! };
}

