/**
 * User lifecycle shared by the Management API routes and inbound SCIM: building a stored user, deleting
 * one (with its memberships), revoking sessions. IDs follow research/auth0.md §1.1: database users are
 * `auth0|<id>`, enterprise users `<strategy>|<connection>|<id>`.
 */
import { createHash } from 'node:crypto';
import { badRequest } from './errors.js';
import type { EmulatorState } from './state.js';
import type { EmuConnection, EmuOrganization, EmuUser } from './types.js';

/** Gravatar-style picture URL as Auth0 assigns by default. */
export function defaultPicture(email: string | undefined, name: string): string {
  const hash = createHash('md5').update((email ?? name).trim().toLowerCase()).digest('hex');
  return `https://s.gravatar.com/avatar/${hash}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F${encodeURIComponent(name.slice(0, 2).toLowerCase())}.png`;
}

/**
 * Auth0's default "fair" password policy for database connections: at least 8 characters and three of
 * lower case, upper case, digits, special characters (docs:/authenticate/database-connections/password-strength).
 */
export function checkPasswordStrength(password: string): void {
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (password.length < 8 || classes < 3) throw badRequest('PasswordStrengthError: Password is too weak', 'invalid_body');
}

export interface NewUserInput {
  connection: EmuConnection;
  /** The id inside the connection (without provider prefix). */
  localId: string;
  email?: string;
  email_verified?: boolean;
  username?: string;
  phone_number?: string;
  phone_verified?: boolean;
  name?: string;
  nickname?: string;
  given_name?: string;
  family_name?: string;
  picture?: string;
  blocked?: boolean;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
}

/** The Auth0 `user_id` of an identity in a connection. */
export function userIdFor(connection: EmuConnection, localId: string): string {
  return connection.strategy === 'auth0' ? `auth0|${localId}` : `${connection.strategy}|${connection.name}|${localId}`;
}

/** Builds (does not store) a user with its primary identity. */
export function buildUser(input: NewUserInput, nowIso: string): EmuUser {
  const c = input.connection;
  const name = input.name ?? input.email ?? input.username ?? input.localId;
  const nickname = input.nickname ?? (input.email ? input.email.split('@')[0] ?? name : name);
  const identityUserId = c.strategy === 'auth0' ? input.localId : `${c.name}|${input.localId}`;
  const user: EmuUser = {
    user_id: userIdFor(c, input.localId),
    email_verified: input.email_verified ?? false,
    name,
    nickname,
    picture: input.picture ?? defaultPicture(input.email, name),
    created_at: nowIso,
    updated_at: nowIso,
    identities: [{ connection: c.name, user_id: identityUserId, provider: c.strategy, isSocial: false }],
    app_metadata: input.app_metadata ?? {},
    user_metadata: input.user_metadata ?? {},
    logins_count: 0,
    roles: [],
    sessions: [],
    refresh_tokens: [],
  };
  if (input.email !== undefined) user.email = input.email;
  if (input.username !== undefined) user.username = input.username;
  if (input.phone_number !== undefined) user.phone_number = input.phone_number;
  if (input.phone_verified !== undefined) user.phone_verified = input.phone_verified;
  if (input.given_name !== undefined) user.given_name = input.given_name;
  if (input.family_name !== undefined) user.family_name = input.family_name;
  if (input.blocked !== undefined) user.blocked = input.blocked;
  return user;
}

/** The connection of a user's primary identity (the first one), if it still exists. */
export function primaryConnection(state: EmulatorState, user: EmuUser): EmuConnection | undefined {
  const first = user.identities[0];
  return first ? state.connectionByName(first.connection) : undefined;
}

/** Removes a user and every membership (org members list, roles are stored on the user). */
export function deleteUser(state: EmulatorState, userId: string, nowMs: number): void {
  if (!state.users.delete(userId)) return;
  for (const org of state.organizations.values()) removeMember(org, userId, nowMs);
}

/** Removes a membership, keeping it visible in lists until the consistency delay passes. */
export function removeMember(org: EmuOrganization, userId: string, nowMs: number): boolean {
  const index = org.members.findIndex((m) => m.user_id === userId);
  if (index < 0) return false;
  const [member] = org.members.splice(index, 1);
  if (member) org.removed_members.push({ member, removed_at: nowMs });
  return true;
}

/** Revokes sessions and (unless preserved) refresh tokens. */
export function revokeAccess(user: EmuUser, options: { sessionId?: string; preserveRefreshTokens?: boolean } = {}): void {
  user.sessions = options.sessionId === undefined ? [] : user.sessions.filter((s) => s !== options.sessionId);
  if (!options.preserveRefreshTokens) user.refresh_tokens = [];
}
