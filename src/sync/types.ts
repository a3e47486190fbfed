/**
 * The sync vocabulary shared by the pure core (rules, desired state, planner), the worker and the Auth0
 * gateway. Plain data only: no I/O, no database rows, no SDK types (DESIGN.md "Concepts": desired vs
 * applied state). Role and organization references are by *name*; the executor resolves names to ids.
 */

/** How users of a connection come to exist in Auth0 (DESIGN.md "How a SCIM user becomes an Auth0 user"). */
export type ConnectionMode = 'enterprise-scim' | 'enterprise' | 'database';

/** What happens in Auth0 when the IdP DELETEs a user (DESIGN.md "Deprovisioning"; `block` is the default). */
export type DeprovisionPolicy = 'block' | 'remove-from-org' | 'delete';

/** How a database-connection user learns to sign in; Auth0 never shows Provisio's random password. */
export type OnboardingKind = 'password-ticket' | 'invitation';

/** One Auth0 connection a tenant's users come from; the first listed is the one users are created on. */
export interface TenantConnection {
  id: string;
  name: string;
  mode: ConnectionMode;
  /** Auth0 `assign_membership_on_login` on the org's enabled connection (research/auth0.md §4.4). */
  assignMembershipOnLogin: boolean;
  /**
   * `enterprise-scim` only: Auth0's inbound SCIM endpoint of the connection and its bearer token, the token
   * sealed with the encryption key (src/secrets.ts) whenever it is stored.
   */
  scim?: { url: string; sealedToken: string };
}

/** A SCIM attribute path (`name.givenName`, `emails[type eq "work"].value`, URN-qualified) → Auth0 field. */
export interface AttributeMapping {
  scim: string;
  /** A root profile field (`given_name`, `name`, `picture`, …) or `app_metadata.<key>[.<sub>]`. */
  auth0: string;
}

/** Everything a tenant binds in Auth0 (issue 6 "Tenant Auth0 binding"). */
export interface TenantAuth0Binding {
  /** `id` is known once the org was found or created; without it the executor ensures the org by name. */
  organization: { name: string; displayName?: string; metadata?: Record<string, string>; id?: string };
  connections: TenantConnection[];
  /** isolated: this org only; shared: one identity in several orgs, listed in `app_metadata.organizations`. */
  userModel: 'isolated' | 'shared';
  deprovision: DeprovisionPolicy;
  onboarding: OnboardingKind | 'none';
  attributeMapping: AttributeMapping[];
}

/** What a rule (or the default) grants; org roles hold in the binding org and in each org the grant names. */
export interface Grant {
  orgRoles: string[];
  tenantRoles: string[];
  /** Further organizations by name (shared model only; ignored with a warning in the isolated model). */
  organizations: string[];
}

/** Which group a rule applies to; `id`/`externalId` survive a rename, `displayName` does not. */
export interface RuleMatch {
  by: 'externalId' | 'id' | 'displayName';
  value: string;
}

/** One group → grant rule; lower `position` wins in `first-match` mode. */
export interface RoleRule {
  id: string;
  position: number;
  match: RuleMatch;
  grant: Grant;
}

/** A tenant's group → role rules (issue 6 "Group → role rules"). */
export interface RulesConfig {
  rules: RoleRule[];
  mode: 'all-matching' | 'first-match';
  /** Granted to members of no mapped group (ignored when `requireMappedGroup`). */
  defaultGrant?: Grant;
  /** When true a user in no mapped group gets no membership at all. */
  requireMappedGroup: boolean;
}

/** A group the user belongs to, directly or through nesting; `via` lists the group ids in between. */
export interface DirectoryGroupRef {
  id: string;
  externalId: string | null;
  displayName: string;
  /**
   * For an indirect membership: the path from the user's direct group up to (excluding) this group,
   * e.g. user ∈ `g-child` ∈ `g-parent` gives `{ id: 'g-parent', via: ['g-child'] }`. Absent when direct.
   */
  via?: string[];
}

/** The directory facts about one SCIM user, as the IdP pushed them (DESIGN.md "Directory"). */
export interface DirectoryUser {
  id: string;
  userName: string;
  externalId: string | null;
  active: boolean;
  email: string | null;
  emailVerified?: boolean;
  displayName: string | null;
  givenName: string | null;
  familyName: string | null;
  /** The full SCIM resource JSON, read by attribute mapping. */
  resource: Record<string, unknown>;
  /** Direct and indirect (nested) memberships. */
  groups: DirectoryGroupRef[];
  /** The IdP DELETEd the user; the binding's deprovision policy applies. */
  deleted: boolean;
  /** A customer admin's decision on top of the directory (src/admin/user-actions.ts); it outlives IdP changes. */
  override?: AdminOverride;
}

/**
 * What an admin decided about a directory user: `blocked` blocks (memberships kept), `removedFromOrg` drops
 * every membership and tenant role this tenant grants, `erase` deletes the Auth0 user (GDPR erasure).
 */
export interface AdminOverride {
  blocked: boolean;
  removedFromOrg: boolean;
  erase: boolean;
  actor: string;
}

/** Why a piece of desired state exists ("why does Alice have role X in org Y"). */
export type Provenance =
  | { kind: 'rule'; ruleId: string; groupId: string; groupDisplayName: string; via?: string[] }
  | { kind: 'default' }
  | { kind: 'binding' }
  | { kind: 'deprovision'; policy: DeprovisionPolicy | 'deactivated' }
  | { kind: 'admin'; action: 'blocked' | 'removed-from-org' | 'erased'; actor: string };

/** A role name with the reasons it is granted. */
export interface DesiredRole {
  name: string;
  because: Provenance[];
}

/** An org membership with its roles and the reasons for it. */
export interface DesiredOrganization {
  name: string;
  roles: DesiredRole[];
  because: Provenance[];
}

/**
 * The slice of Auth0 this tenant is authoritative for. The planner never removes anything outside it, so a
 * shared identity's other orgs, hand-assigned tenant roles and foreign app_metadata keys are left alone.
 */
export interface ManagedScope {
  /** `allRoles`: every org role there is Provisio's (the binding org); otherwise only `roles`. */
  organizations: { name: string; allRoles: boolean; roles: string[] }[];
  /** Tenant roles any rule or the default grant can give; the worker may add previously applied names. */
  tenantRoles: string[];
}

/** The directory identity the executor needs to create or find the Auth0 user. */
export interface DesiredIdentity {
  directoryUserId: string;
  userName: string;
  externalId: string | null;
  email: string | null;
  emailVerified: boolean;
}

/** The Auth0 state a directory user should have, derived (never edited) from directory + rules. */
export interface DesiredState {
  exists: boolean;
  blocked: boolean;
  organizations: DesiredOrganization[];
  tenantRoles: DesiredRole[];
  /** Root profile fields; `null` means "unset" (Auth0 PATCH semantics, research/auth0.md §1.4). */
  profile: Record<string, unknown>;
  /** First-level app_metadata keys Provisio owns; `null` means "remove the key". */
  appMetadata: Record<string, unknown>;
  deleteUser: boolean;
  revokeSessions: boolean;
  /** Why exists/blocked/deleteUser/revokeSessions are what they are. */
  lifecycle: Provenance[];
  identity: DesiredIdentity;
  managed: ManagedScope;
  /** Problems worth an admin's eye (role limits, ignored orgs, bad mappings); never silently truncated. */
  warnings: string[];
}

/** An Auth0 user as returned by the Management API (only the fields the planner reads are typed). */
export interface Auth0UserSnapshot {
  user_id: string;
  blocked: boolean;
  email?: string;
  email_verified?: boolean;
  app_metadata?: Record<string, unknown>;
  identities?: { connection: string; provider?: string; user_id?: string }[];
  given_name?: string;
  family_name?: string;
  name?: string;
  nickname?: string;
  picture?: string;
  [field: string]: unknown;
}

/** One org the Auth0 user is a member of, with the names of its org roles there. */
export interface Auth0OrganizationSnapshot {
  id: string;
  name: string;
  roleNames: string[];
}

/** An existing Auth0 user found by email (`GET /users-by-email`), optionally with its memberships. */
export interface Auth0Candidate extends Auth0UserSnapshot {
  organizations?: Auth0OrganizationSnapshot[];
  tenantRoleNames?: string[];
}

/** What Auth0 currently has for the user (the applied state, DESIGN.md "Concepts"). */
export interface Auth0Snapshot {
  user?: Auth0UserSnapshot;
  organizations: Auth0OrganizationSnapshot[];
  tenantRoleNames: string[];
  /** Users with the directory user's email, looked up when `user` is absent (DESIGN.md: link, never duplicate). */
  candidates?: Auth0Candidate[];
  /**
   * Applied-state hint: `false` when the user was blocked but the revocation was never confirmed (e.g. a crash
   * between the two calls). Absent: revocation is planned only on the transition to blocked.
   */
  sessionsRevoked?: boolean;
}

/** A reference to an org: by name always, by id when known. */
export interface OrgRef {
  name: string;
  id?: string;
}

/** Fields of `PATCH /users/{id}`; app_metadata carries only changed first-level keys (`null` removes). */
export interface UserPatch {
  blocked?: boolean;
  app_metadata?: Record<string, unknown>;
  [profileField: string]: unknown;
}

/**
 * One Management API intent. Actions apply to the job's user; the executor threads its `user_id` (from the
 * snapshot, `createUser` or `linkExisting`) and resolves org and role names to ids.
 */
export type SyncAction =
  | {
    type: 'createUser';
    mode: 'inbound-scim' | 'database';
    connection: { id: string; name: string };
    identity: DesiredIdentity;
    profile: Record<string, unknown>;
    appMetadata: Record<string, unknown>;
    reason: string;
  }
  | { type: 'linkExisting'; userId: string; reason: string }
  | { type: 'updateUser'; patch: UserPatch; reason: string }
  | { type: 'revokeSessions'; reason: string }
  | { type: 'deleteUser'; reason: string }
  | { type: 'ensureOrganization'; org: { name: string; displayName?: string; metadata?: Record<string, string> }; reason: string }
  | { type: 'addMembership'; org: OrgRef; reason: string }
  | { type: 'removeMembership'; org: OrgRef; reason: string }
  | { type: 'addOrgRoles'; org: OrgRef; roles: string[]; reason: string }
  | { type: 'removeOrgRoles'; org: OrgRef; roles: string[]; reason: string }
  | { type: 'assignTenantRoles'; roles: string[]; reason: string }
  | { type: 'removeTenantRoles'; roles: string[]; reason: string }
  | { type: 'sendOnboarding'; kind: OnboardingKind; org: OrgRef; reason: string }
  | { type: 'awaitFirstLogin'; connection: { id: string; name: string }; reason: string }
  | { type: 'holdForReview'; reason: string };

/** The `type` tag of a SyncAction. */
export type SyncActionType = SyncAction['type'];
