/**
 * What a directory user's Okta user should be (pure: the facts come in as data). Okta mirrors what Provisio
 * materialised in Auth0, so only a user the Auth0 sync provisioned (it has an Auth0 user id) gets an Okta
 * user; one already linked keeps being followed through deactivation and deletion.
 */
import { readScimPath } from '../sync/attribute-mapping.js';
import { groupMatchesRule } from '../sync/rules.js';
import type { DirectoryUser, RoleRule } from '../sync/types.js';
import type { OktaBinding, OktaGroupRule } from './binding.js';

/** `present`: exists and active; `deactivated`: DEPROVISIONED in Okta; `deleted`: gone from Okta; `none`: not mirrored (never provisioned into Auth0). */
export type OktaPresence = 'present' | 'deactivated' | 'deleted' | 'none';

export interface OktaDesired {
  readonly presence: OktaPresence;
  /** Every mapped attribute (null: no directory value, cleared in Okta) and the Auth0 user id attribute. */
  readonly profile: Record<string, string | null>;
  /** The Okta groups the user's directory groups map to, with the rules that say so (provenance). */
  readonly groups: readonly { readonly target: OktaGroupRule['oktaGroup']; readonly because: readonly string[] }[];
  /** Why, in words, for `provisio status` and the plan. */
  readonly reason: string;
  /** Mapping problems that did not stop the mirror (a path naming nothing). */
  readonly warnings: readonly string[];
}

/** Okta requires these on every user (its base profile schema); a user without them cannot be created. */
export const REQUIRED_OKTA_ATTRIBUTES = ['login', 'email', 'firstName', 'lastName'] as const;

function asProfileValue(v: unknown): string | null | undefined {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** Maps the directory user through the binding's mapping: later entries for one attribute are fallbacks. */
export function mapOktaProfile(user: DirectoryUser, binding: OktaBinding): { profile: Record<string, string | null>; warnings: string[] } {
  const resource = { userName: user.userName, ...(user.externalId ? { externalId: user.externalId } : {}), ...user.resource };
  const profile: Record<string, string | null> = {};
  const warnings: string[] = [];
  for (const m of binding.profileMapping) {
    if (typeof profile[m.okta] === 'string') continue;
    let raw: unknown;
    try {
      raw = readScimPath(resource, m.scim);
    } catch (e) {
      warnings.push(`mapping ${m.scim} → ${m.okta} skipped: ${(e as Error).message}`);
      continue;
    }
    const value = asProfileValue(raw);
    if (value === undefined) warnings.push(`mapping ${m.scim} → ${m.okta} skipped: the directory value is not a string`);
    else profile[m.okta] = value;
  }
  return { profile, warnings };
}

/** The Okta groups of the rules the user's groups (direct and nested) match. */
export function oktaGroupsFor(user: DirectoryUser, rules: readonly OktaGroupRule[]): OktaDesired['groups'] {
  const byTarget = new Map<string, { target: OktaGroupRule['oktaGroup']; because: string[] }>();
  for (const rule of rules) {
    const matching = user.groups.filter((g) => groupMatchesRule(g, rule as unknown as RoleRule));
    if (matching.length === 0) continue;
    const key = groupTargetKey(rule.oktaGroup);
    const entry = byTarget.get(key) ?? { target: rule.oktaGroup, because: [] };
    entry.because.push(...matching.map((g) => `rule ${rule.id}: directory group "${g.displayName}"`));
    byTarget.set(key, entry);
  }
  return [...byTarget.values()];
}

/** A stable key for a rule's Okta group: `id:<id>` or `name:<lower-case name>` (Okta compares names case-insensitively). */
export function groupTargetKey(target: OktaGroupRule['oktaGroup']): string {
  return 'id' in target ? `id:${target.id}` : `name:${target.name.toLowerCase()}`;
}

export interface MirrorFacts {
  /** The directory user (a deleted one comes from its tombstone); undefined when erased. */
  readonly user: DirectoryUser | undefined;
  /** The Auth0 user the sync provisioned, if any. */
  readonly auth0UserId: string | null;
  /** The Okta user this directory user is linked to, if any. */
  readonly oktaUserId: string | null;
}

export function deriveOktaDesired(facts: MirrorFacts, binding: OktaBinding): OktaDesired {
  const { user, auth0UserId } = facts;
  const none = (presence: OktaPresence, reason: string): OktaDesired => ({ presence, profile: {}, groups: [], reason, warnings: [] });
  // Only a user the mirror linked, or one Auth0 has, can have an Okta user of ours: a directory user deleted
  // before it was ever provisioned must not deprovision someone else's Okta user that shares its login.
  if (!auth0UserId && !facts.oktaUserId) return none('none', 'not provisioned into Auth0 (yet): Okta mirrors what Auth0 has');
  if (!user) return none('deleted', 'erased by an admin (GDPR): the Okta user is deleted');
  if (user.deleted) {
    return binding.onDelete === 'delete' || user.override?.erase
      ? none('deleted', user.override?.erase ? 'erased by an admin (GDPR): the Okta user is deleted' : 'deleted in the directory; the binding deletes (onDelete: delete)')
      : none('deactivated', 'deleted in the directory; the binding deactivates (onDelete: deactivate)');
  }
  const { profile, warnings } = mapOktaProfile(user, binding);
  if (auth0UserId) profile[binding.auth0IdAttribute] = auth0UserId;
  const groups = oktaGroupsFor(user, binding.groupRules);
  if (!user.active) return { presence: 'deactivated', profile, groups, reason: 'deactivated in the directory', warnings };
  if (user.override?.blocked) return { presence: 'deactivated', profile, groups, reason: `blocked by ${user.override.actor}`, warnings };
  if (user.override?.removedFromOrg) return { presence: 'deactivated', profile, groups, reason: `removed from the organization by ${user.override.actor}`, warnings };
  return { presence: 'present', profile, groups, reason: 'provisioned into Auth0 and active in the directory', warnings };
}
