/**
 * The emulated Okta org's in-memory data: users, groups and group memberships. Logins are unique
 * case-insensitively, as Okta compares them; every record carries an insertion sequence that orders
 * lists and backs the opaque `after` cursor.
 */

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

export interface OktaGroupRecord {
  id: string;
  seq: number;
  created: string;
  lastUpdated: string;
  lastMembershipUpdated: string;
  profile: { name: string; description?: string };
  /** Member user ids in the order they were added. */
  members: Set<string>;
}

/** One org's users and groups. */
export class OktaState {
  readonly users = new Map<string, OktaUserRecord>();
  readonly groups = new Map<string, OktaGroupRecord>();
  private sequence = 0;

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

  /** Removes a user and its group memberships (a deleted Okta user leaves every group). */
  deleteUser(id: string, now: string): void {
    this.users.delete(id);
    for (const group of this.groups.values()) {
      if (group.members.delete(id)) group.lastMembershipUpdated = now;
    }
  }

  /** Empties the org. */
  clear(): void {
    this.users.clear();
    this.groups.clear();
    this.sequence = 0;
  }
}
