/**
 * The fewest Okta calls that bring an Okta user to its desired state (pure: desired and current state in,
 * actions out). Each action carries its reason, shown by `provisio status` and kept as the last plan.
 */
import type { OktaBinding } from './binding.js';
import { REQUIRED_OKTA_ATTRIBUTES, type OktaDesired } from './desired.js';
import type { OktaUser } from './gateway.js';

export type OktaAction =
  | { readonly type: 'createUser'; readonly profile: Record<string, string>; readonly activation: OktaBinding['activation']; readonly reason: string }
  | { readonly type: 'adoptUser'; readonly oktaUserId: string; readonly reason: string }
  | { readonly type: 'updateProfile'; readonly changes: Record<string, string | null>; readonly reason: string }
  | { readonly type: 'activate'; readonly sendEmail: boolean; readonly reason: string }
  | { readonly type: 'deactivate'; readonly reason: string }
  | { readonly type: 'deleteUser'; readonly reason: string }
  | { readonly type: 'addToGroup'; readonly groupId: string; readonly reason: string }
  | { readonly type: 'removeFromGroup'; readonly groupId: string; readonly reason: string }
  | { readonly type: 'linkAuth0'; readonly auth0UserId: string; readonly oktaUserId: string | null; readonly reason: string };

/** What Okta has now: the linked (or found by login) user and its group ids. */
export interface OktaSnapshot {
  readonly user: OktaUser | undefined;
  readonly groupIds: ReadonlySet<string>;
}

/** The desired groups resolved to ids, and every group the rules manage (only those are ever removed). */
export interface ResolvedGroups {
  readonly wanted: ReadonlyMap<string, string>;
  readonly managed: ReadonlySet<string>;
}

/** Thrown when the directory cannot give Okta what it requires; retrying cannot help until the directory changes. */
export class OktaMappingError extends Error {
  override readonly name = 'OktaMappingError';
}

function text(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function planOktaMirror(desired: OktaDesired, snapshot: OktaSnapshot, groups: ResolvedGroups, binding: OktaBinding): OktaAction[] {
  const actions: OktaAction[] = [];
  const user = snapshot.user;
  if (desired.presence === 'none') return actions;
  if (!user) {
    // Nothing to deactivate or delete; an inactive user is not created just to be deactivated.
    if (desired.presence !== 'present') return actions;
    const missing = REQUIRED_OKTA_ATTRIBUTES.filter((a) => !desired.profile[a]);
    if (missing.length > 0) throw new OktaMappingError(`the directory user has no value for Okta's required ${missing.join(', ')}: map one in okta.profileMapping`);
    const profile = Object.fromEntries(Object.entries(desired.profile).filter((e): e is [string, string] => e[1] !== null));
    actions.push({ type: 'createUser', profile, activation: binding.activation, reason: `no Okta user with login ${profile.login}: create it (${binding.activation === 'federated' ? 'active, no password, no email' : binding.activation === 'staged' ? 'staged' : 'Okta emails an activation link'})` });
    for (const [groupId, because] of groups.wanted) actions.push({ type: 'addToGroup', groupId, reason: because });
    return actions;
  }
  if (desired.presence === 'deleted') {
    if (user.status !== 'DEPROVISIONED') actions.push({ type: 'deactivate', reason: 'Okta deletes only deactivated users' });
    actions.push({ type: 'deleteUser', reason: desired.reason });
    return actions;
  }
  if (desired.presence === 'deactivated' && user.status !== 'DEPROVISIONED') actions.push({ type: 'deactivate', reason: desired.reason });
  if (desired.presence === 'present') {
    // Under `activation-email` a user without a password is sent Okta's activation email; federated ones need none.
    const sendEmail = binding.activation === 'activation-email';
    if (user.status === 'DEPROVISIONED') actions.push({ type: 'activate', sendEmail, reason: 'active again in the directory' });
    else if (user.status === 'STAGED' && binding.activation !== 'staged') actions.push({ type: 'activate', sendEmail, reason: 'staged in Okta; the binding activates' });
  }
  const changes: Record<string, string | null> = {};
  for (const [name, want] of Object.entries(desired.profile)) {
    if (want === null && REQUIRED_OKTA_ATTRIBUTES.includes(name as (typeof REQUIRED_OKTA_ATTRIBUTES)[number])) continue;
    if (text(user.profile[name]) !== want) changes[name] = want;
  }
  if (Object.keys(changes).length > 0) actions.push({ type: 'updateProfile', changes, reason: `profile differs: ${Object.keys(changes).join(', ')}` });
  for (const [groupId, because] of groups.wanted) if (!snapshot.groupIds.has(groupId)) actions.push({ type: 'addToGroup', groupId, reason: because });
  for (const groupId of groups.managed) {
    if (snapshot.groupIds.has(groupId) && !groups.wanted.has(groupId)) actions.push({ type: 'removeFromGroup', groupId, reason: 'no directory group maps to it any more' });
  }
  return actions;
}
