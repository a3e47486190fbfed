/**
 * The emulated Okta org's in-memory data: users, groups and group memberships. Logins are unique
 * case-insensitively, as Okta compares them; every record carries an insertion sequence that orders
 * lists and backs the opaque `after` cursor. Every org has Okta's built-in `Everyone` group (spec
 * `GroupType` `BUILT_IN`, "Okta System Groups" in terraform-provider-okta's `okta_group` docs) whose
 * members are all the org's users; it survives `clear()` with the same id.
 */
import { newGroupId } from './ids.js';

/** The lifecycle states the emulator models (Okta's `UserStatus` without the password/lockout ones). */
export type OktaUserStatus = 'STAGED' | 'PROVISIONED' | 'ACTIVE' | 'DEPROVISIONED';

/** A profile as stored: Okta profiles are flat maps of attribute name to JSON value. */
export type OktaProfile = Record<string, unknown>;

export interface OktaUserRecord {
  id: string;
  seq: number;
  status: OktaUserStatus;
  created: string;
  activated: string | null;
  statusChanged: string | null;
  lastUpdated: string;
  passwordChanged: string | null;
  profile: OktaProfile;
  /** Whether the user was created with `credentials.password` (decides ACTIVE vs PROVISIONED). */
  hasPassword: boolean;
  /** Created with `provider=true` (federated): activation needs no credentials. */
  federated: boolean;
}

/** Spec `GroupType` values the emulator has: groups made through the API, and Okta's own `Everyone`. */
export type OktaGroupType = 'OKTA_GROUP' | 'BUILT_IN';

export interface OktaGroupRecord {
  id: string;
  seq: number;
  type: OktaGroupType;
  created: string;
  lastUpdated: string;
  lastMembershipUpdated: string;
  profile: { name: string; description?: string };
  /** Member user ids in the order they were added (always empty for `Everyone`: see `memberIds`). */
  members: Set<string>;
}

/** Okta's description of the built-in group, as a new org shows it. */
const EVERYONE_DESCRIPTION = 'All users in your organization';

/** One org's users and groups. */
export class OktaState {
  readonly users = new Map<string, OktaUserRecord>();
  readonly groups = new Map<string, OktaGroupRecord>();
  /** The built-in `Everyone` group (sequence 0, so it lists first, as in a real org). */
  readonly everyone: OktaGroupRecord;
  private sequence = 0;

  constructor(created: string = new Date().toISOString()) {
    this.everyone = {
      id: newGroupId(),
      seq: 0,
      type: 'BUILT_IN',
      created,
      lastUpdated: created,
      lastMembershipUpdated: created,
      profile: { name: 'Everyone', description: EVERYONE_DESCRIPTION },
      members: new Set(),
    };
    this.groups.set(this.everyone.id, this.everyone);
  }

  /** The next insertion sequence number (shared by users and groups; only the order matters). */
  nextSeq(): number {
    this.sequence += 1;
    return this.sequence;
  }

  /** A user by id, else by login (case-insensitive): `GET /api/v1/users/{idOrLogin}`. */
  findUser(idOrLogin: string): OktaUserRecord | undefined {
    return this.users.get(idOrLogin) ?? this.userByLogin(idOrLogin);
  }

  userByLogin(login: string): OktaUserRecord | undefined {
    const wanted = login.toLowerCase();
    for (const user of this.users.values()) {
      if (typeof user.profile['login'] === 'string' && user.profile['login'].toLowerCase() === wanted) return user;
    }
    return undefined;
  }

  groupByName(name: string): OktaGroupRecord | undefined {
    const wanted = name.toLowerCase();
    for (const group of this.groups.values()) if (group.profile.name.toLowerCase() === wanted) return group;
    return undefined;
  }

  /** Stores a new user; it joins `Everyone` at once. */
  addUser(user: OktaUserRecord, now: string): void {
    this.users.set(user.id, user);
    this.everyone.lastMembershipUpdated = now;
  }

  /** Removes a user and its group memberships (a deleted Okta user leaves every group). */
  deleteUser(id: string, now: string): void {
    if (this.users.delete(id)) this.everyone.lastMembershipUpdated = now;
    for (const group of this.groups.values()) {
      if (group.members.delete(id)) group.lastMembershipUpdated = now;
    }
  }

  /** The member ids of a group: every user for `Everyone`, the stored members otherwise. */
  memberIds(group: OktaGroupRecord): string[] {
    return group.type === 'BUILT_IN' ? [...this.users.keys()] : [...group.members];
  }

  /** The groups a user belongs to, `Everyone` included. */
  groupsOf(userId: string): OktaGroupRecord[] {
    if (!this.users.has(userId)) return [];
    return [...this.groups.values()].filter((g) => g.type === 'BUILT_IN' || g.members.has(userId));
  }

  /** Empties the org but for `Everyone`, which keeps its id. */
  clear(): void {
    this.users.clear();
    this.groups.clear();
    this.groups.set(this.everyone.id, this.everyone);
    this.sequence = 0;
  }
}
