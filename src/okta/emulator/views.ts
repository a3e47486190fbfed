/**
 * The JSON Okta returns for users and groups (spec `#/components/schemas/User`, `Group`). Links are
 * absolute on the emulator's own origin: the SDK's cache is keyed by `_links.self.href`.
 */
import type { OktaGroupRecord, OktaUserRecord, OktaUserStatus } from './state.js';

type Link = { href: string; method?: string };

/** The lifecycle links Okta offers for a status (what a client may do next). */
const LIFECYCLE_LINKS: Readonly<Record<OktaUserStatus, readonly string[]>> = {
  STAGED: ['activate', 'deactivate'],
  PROVISIONED: ['reactivate', 'deactivate'],
  ACTIVE: ['deactivate'],
  DEPROVISIONED: ['activate'],
};

/** A user as Okta answers it. */
export function userView(user: OktaUserRecord, origin: string): Record<string, unknown> {
  const self = `${origin}/api/v1/users/${user.id}`;
  const links: Record<string, Link> = { self: { href: self } };
  for (const op of LIFECYCLE_LINKS[user.status]) links[op] = { href: `${self}/lifecycle/${op}`, method: 'POST' };
  return {
    id: user.id,
    status: user.status,
    created: user.created,
    activated: user.activated,
    statusChanged: user.statusChanged,
    lastLogin: null,
    lastUpdated: user.lastUpdated,
    passwordChanged: user.passwordChanged,
    type: { id: 'oty00000000000000000' },
    profile: { ...user.profile },
    credentials: {
      ...(user.hasPassword ? { password: {} } : {}),
      provider: user.federated ? { type: 'FEDERATION', name: 'FEDERATION' } : { type: 'OKTA', name: 'OKTA' },
    },
    _links: links,
  };
}

/** A group as Okta answers it: `OKTA_GROUP` for groups made through the API, `BUILT_IN` for `Everyone`. */
export function groupView(group: OktaGroupRecord, origin: string): Record<string, unknown> {
  const self = `${origin}/api/v1/groups/${group.id}`;
  return {
    id: group.id,
    created: group.created,
    lastUpdated: group.lastUpdated,
    lastMembershipUpdated: group.lastMembershipUpdated,
    objectClass: ['okta:user_group'],
    type: group.type,
    profile: { ...group.profile },
    _links: { self: { href: self }, users: { href: `${self}/users` }, apps: { href: `${self}/apps` } },
  };
}
