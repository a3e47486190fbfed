/**
 * The narrow shapes the sync needs from Auth0 responses (research/auth0.md §1.4), and the functions that
 * check SDK results into them. The SDK's generated types carry `[key: string]: any` index signatures and
 * optional ids; nothing past this file sees them.
 */
import { Auth0PermanentError } from './errors.js';

/** One identity of an Auth0 user (`{provider, user_id, connection}`). */
export interface Auth0Identity {
  provider: string;
  user_id: string;
  connection: string;
}

/** The user fields the sync reads. */
export interface Auth0User {
  user_id: string;
  email: string | undefined;
  email_verified: boolean;
  name: string | undefined;
  blocked: boolean;
  app_metadata: Record<string, unknown>;
  identities: Auth0Identity[];
}

/** An organization as the sync reads it. */
export interface Auth0Organization {
  id: string;
  name: string;
  display_name: string | undefined;
  metadata: Record<string, string>;
}

/** Fields of `POST /users` on a database connection (§1.4). */
export interface CreateDatabaseUserInput {
  connection: string;
  email: string;
  password: string;
  name?: string;
  given_name?: string;
  family_name?: string;
  nickname?: string;
  email_verified?: boolean;
  /** Default false: Provisio sends its own ticket or invitation instead of Auth0's verification email. */
  verify_email?: boolean;
  app_metadata?: Record<string, unknown>;
}

/** `PATCH /users/{id}`: root fields replaced (`null` unsets), `app_metadata` merged at the first level by Auth0 (§1.4). */
export interface Auth0UserPatch {
  blocked?: boolean;
  name?: string | null;
  given_name?: string | null;
  family_name?: string | null;
  nickname?: string | null;
  email?: string;
  email_verified?: boolean;
  /** Only the keys given change; a key set to `null` is removed. */
  app_metadata?: Record<string, unknown>;
}

/** Result of `resolveRoleIds`: names found, and names Auth0 does not have (reported, never created). */
export interface ResolvedRoles {
  ids: Map<string, string>;
  unknown: string[];
}

/** Body of an organization invitation (§1.4). */
export interface InvitationInput {
  inviterName: string;
  email: string;
  clientId: string;
  connectionId?: string;
  roles?: string[];
  ttlSec?: number;
  sendEmail?: boolean;
  app_metadata?: Record<string, unknown>;
}

/** An organization invitation as listed (the fields an org admin needs to recognise and withdraw it). */
export interface Auth0Invitation {
  id: string;
  email: string;
  inviter: string | undefined;
  roles: string[];
  createdAt: string | undefined;
  expiresAt: string | undefined;
  invitationUrl: string | undefined;
}

type Rec = Record<string, unknown>;

function isRecord(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function malformed(operation: string, what: string): Auth0PermanentError {
  return new Auth0PermanentError(operation, undefined, 'malformed_response', `Auth0 ${operation}: response without ${what}`);
}

/** Checks a user object (`GET /users/{id}`, `POST /users`, `PATCH …`). */
export function toUser(data: unknown, operation: string): Auth0User {
  if (!isRecord(data) || !str(data['user_id'])) throw malformed(operation, 'user_id');
  const identities = Array.isArray(data['identities']) ? data['identities'] : [];
  return {
    user_id: str(data['user_id']) ?? '',
    email: str(data['email']),
    email_verified: data['email_verified'] === true,
    name: str(data['name']),
    blocked: data['blocked'] === true,
    app_metadata: isRecord(data['app_metadata']) ? { ...data['app_metadata'] } : {},
    identities: identities.filter(isRecord).map((i) => ({
      provider: str(i['provider']) ?? '',
      user_id: String(i['user_id'] ?? ''),
      connection: str(i['connection']) ?? '',
    })),
  };
}

/** Checks an organization invitation object. */
export function toInvitation(data: unknown, operation: string): Auth0Invitation {
  if (!isRecord(data) || !str(data['id'])) throw malformed(operation, 'id');
  const invitee = isRecord(data['invitee']) ? data['invitee'] : {};
  const inviter = isRecord(data['inviter']) ? data['inviter'] : {};
  return {
    id: str(data['id']) ?? '',
    email: str(invitee['email']) ?? '',
    inviter: str(inviter['name']),
    roles: Array.isArray(data['roles']) ? data['roles'].filter((r): r is string => typeof r === 'string') : [],
    createdAt: str(data['created_at']),
    expiresAt: str(data['expires_at']),
    invitationUrl: str(data['invitation_url']),
  };
}

/** Checks an organization object. */
export function toOrganization(data: unknown, operation: string): Auth0Organization {
  if (!isRecord(data) || !str(data['id']) || !str(data['name'])) throw malformed(operation, 'id/name');
  const metadata: Record<string, string> = {};
  if (isRecord(data['metadata'])) for (const [k, v] of Object.entries(data['metadata'])) if (typeof v === 'string') metadata[k] = v;
  return { id: str(data['id']) ?? '', name: str(data['name']) ?? '', display_name: str(data['display_name']), metadata };
}

/** The string `key` of each element that has one (`user_id` of members, `id` of roles and orgs). */
export function idsOf(items: readonly unknown[], key: string): string[] {
  const out: string[] = [];
  for (const item of items) {
    const v = isRecord(item) ? str(item[key]) : undefined;
    if (v) out.push(v);
  }
  return out;
}

/** `{id, name}` pairs of role objects. */
export function rolesOf(items: readonly unknown[]): { id: string; name: string }[] {
  const out: { id: string; name: string }[] = [];
  for (const item of items) {
    if (!isRecord(item)) continue;
    const id = str(item['id']);
    const name = str(item['name']);
    if (id && name) out.push({ id, name });
  }
  return out;
}

/** A string field of an object response (`ticket`, `invitation_url`, `id`). */
export function stringField(data: unknown, key: string, operation: string): string {
  const v = isRecord(data) ? str(data[key]) : undefined;
  if (!v) throw malformed(operation, key);
  return v;
}

/** A boolean field (undefined when absent). */
export function boolField(data: unknown, key: string): boolean | undefined {
  const v = isRecord(data) ? data[key] : undefined;
  return typeof v === 'boolean' ? v : undefined;
}
