/**
 * Planner: desired state vs the Auth0 snapshot → the fewest Management API intents that drive applied →
 * desired (DESIGN.md "Concepts", "How a SCIM user becomes an Auth0 user", "Deprovisioning"). Pure: the
 * executor performs the actions; planning again against the applied result yields no action.
 */
import { ORGANIZATIONS_KEY } from './desired-state.js';
import type {
  Auth0Candidate, Auth0OrganizationSnapshot, Auth0Snapshot, Auth0UserSnapshot, DesiredState, OrgRef, SyncAction, SyncActionType,
  TenantAuth0Binding, UserPatch,
} from './types.js';

/**
 * Root fields Auth0 fills in itself (name/nickname/picture from the email, research/auth0.md §1.4); a
 * mapped-but-absent SCIM value does not unset them, or every sync would fight Auth0's defaults.
 */
const AUTH0_DERIVED_FIELDS: readonly string[] = ['name', 'nickname', 'picture', 'email', 'username'];

/** The user state the diff runs against: the snapshot, a linked candidate, or a user just created. */
interface Current {
  user: Auth0UserSnapshot;
  organizations: Auth0OrganizationSnapshot[];
  tenantRoleNames: string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Structural JSON equality, key order ignored (app_metadata round-trips through Auth0 reordered). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

function stripNulls(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== null && v !== undefined));
}

/** The binding org is matched by id when known (survives an Auth0-side rename), else by name. */
function sameOrg(binding: TenantAuth0Binding, o: { id?: string; name: string }, name: string): boolean {
  if (o.name === name) return true;
  const id = binding.organization.id;
  return name === binding.organization.name && id !== undefined && o.id === id;
}

/**
 * Shared model: `app_metadata.organizations` may list orgs of other tenants; keep those, replace ours.
 * Returns the list to write, or undefined when the current list already says the same (as a set).
 */
function mergedOrganizations(current: unknown, ours: readonly string[], managed: readonly string[]): string[] | undefined {
  const cur = Array.isArray(current) ? current.filter((x): x is string => typeof x === 'string') : [];
  const next = [...cur.filter((n) => !managed.includes(n) || ours.includes(n))];
  for (const n of ours) if (!next.includes(n)) next.push(n);
  const unchanged = Array.isArray(current) && cur.length === current.length
    && next.length === cur.length && next.every((n) => cur.includes(n));
  return unchanged ? undefined : next;
}

/** Changed root fields, `blocked` and first-level app_metadata keys (Auth0 merges them; `null` removes). */
function userPatch(desired: DesiredState, user: Auth0UserSnapshot, binding: TenantAuth0Binding): UserPatch {
  const patch: UserPatch = {};
  if (desired.blocked !== user.blocked) patch.blocked = desired.blocked;
  for (const [field, want] of Object.entries(desired.profile)) {
    const have = user[field];
    if (want === null || want === undefined) {
      if (have !== undefined && have !== null && !AUTH0_DERIVED_FIELDS.includes(field)) patch[field] = null;
    } else if (field === 'email' && typeof have === 'string' && typeof want === 'string') {
      // Auth0 stores database-connection emails lower-cased (research/auth0.md §1.4 users-by-email).
      if (have.toLowerCase() !== want.toLowerCase()) patch[field] = want;
    } else if (!jsonEqual(have, want)) {
      patch[field] = want;
    }
  }
  const haveMeta = user.app_metadata ?? {};
  const meta: Record<string, unknown> = {};
  const managedOrgs = desired.managed.organizations.map((o) => o.name);
  for (const [key, want] of Object.entries(desired.appMetadata)) {
    const have = haveMeta[key];
    if (key === ORGANIZATIONS_KEY && binding.userModel === 'shared' && Array.isArray(want)) {
      const next = mergedOrganizations(have, want.filter((x): x is string => typeof x === 'string'), managedOrgs);
      if (next !== undefined) meta[key] = next;
    } else if (want === null || want === undefined) {
      if (have !== undefined && have !== null) meta[key] = null;
    } else if (!jsonEqual(have, want)) {
      meta[key] = want;
    }
  }
  if (Object.keys(meta).length > 0) patch.app_metadata = meta;
  return patch;
}

type CandidatePick =
  | { kind: 'none' }
  | { kind: 'one'; candidate: Auth0Candidate }
  | { kind: 'hold'; reason: string };

/**
 * DESIGN.md: "first looks for an existing Auth0 user (by verified email on the tenant's connections) and
 * links instead of duplicating". An unverified match is neither linked (account takeover) nor duplicated.
 */
function pickCandidate(desired: DesiredState, binding: TenantAuth0Binding, candidates: readonly Auth0Candidate[]): CandidatePick {
  const email = desired.identity.email?.toLowerCase();
  if (!email) return { kind: 'none' };
  const names = binding.connections.map((c) => c.name);
  const same = candidates.filter((c) => c.email?.toLowerCase() === email
    && (c.identities ?? []).some((i) => names.includes(i.connection)));
  const verified = same.filter((c) => c.email_verified === true);
  const [only] = verified;
  if (verified.length === 1 && only) return { kind: 'one', candidate: only };
  if (verified.length > 1) {
    return { kind: 'hold', reason: `${verified.length} Auth0 users (${verified.map((c) => c.user_id).join(', ')}) have the verified email ${email}; an admin must choose which to link` };
  }
  if (same.length > 0) {
    return { kind: 'hold', reason: `Auth0 user ${same.map((c) => c.user_id).join(', ')} has the email ${email} unverified; not linking (takeover risk) and not creating a duplicate` };
  }
  return { kind: 'none' };
}

/** Creates or links the Auth0 user, or says why it cannot exist yet. Returns the state to diff against. */
function planAbsentUser(
  desired: DesiredState, snapshot: { candidates?: Auth0Candidate[] }, binding: TenantAuth0Binding, actions: SyncAction[],
): Current | undefined {
  const pick = pickCandidate(desired, binding, snapshot.candidates ?? []);
  if (pick.kind === 'hold') {
    actions.push({ type: 'holdForReview', reason: pick.reason });
    return undefined;
  }
  if (pick.kind === 'one') {
    const { organizations, tenantRoleNames, ...user } = pick.candidate;
    actions.push({ type: 'linkExisting', userId: user.user_id, reason: `existing Auth0 user ${user.user_id} has the verified email ${user.email ?? ''}: link, never duplicate` });
    // Unknown memberships count as none: member and role adds are idempotent in Auth0, removals are not planned.
    return { user, organizations: organizations ?? [], tenantRoleNames: tenantRoleNames ?? [] };
  }
  const connection = binding.connections[0];
  if (!connection) {
    actions.push({ type: 'holdForReview', reason: 'the tenant binding lists no Auth0 connection to create the user on' });
    return undefined;
  }
  const conn = { id: connection.id, name: connection.name };
  if (connection.mode === 'enterprise') {
    // The user cannot log in through the org before the org exists with this connection enabled (and
    // Auto-Membership set), so the binding org is created now even though no Auth0 user can be yet.
    const org = binding.organization;
    if (org.id === undefined && desired.organizations.some((o) => o.name === org.name)) {
      actions.push({ type: 'ensureOrganization', org: { name: org.name, ...(org.displayName !== undefined ? { displayName: org.displayName } : {}), ...(org.metadata ? { metadata: org.metadata } : {}) }, reason: `organization ${org.name} is created if missing so that first logins through ${conn.name} can join it (issue 6 binding)` });
    }
    const hint = connection.assignMembershipOnLogin
      ? 'Auto-Membership adds the org membership at first login and the Post-Login step applies roles'
      : 'Auto-Membership is off on this connection, so an org login fails before the Post-Login Action runs (research/auth0.md §0.5)';
    actions.push({ type: 'awaitFirstLogin', connection: conn, reason: `connection ${conn.name} has no inbound SCIM and the Management API cannot create enterprise users: pending first login; ${hint}` });
    return undefined;
  }
  const profile = stripNulls(desired.profile);
  const appMetadata = stripNulls(desired.appMetadata);
  if (connection.mode === 'database') {
    if (!desired.identity.email) {
      actions.push({ type: 'holdForReview', reason: `database connection ${conn.name} needs an email and directory user ${desired.identity.userName} has none` });
      return undefined;
    }
    actions.push({ type: 'createUser', mode: 'database', connection: conn, identity: desired.identity, profile, appMetadata, reason: `no Auth0 user yet: create on database connection ${conn.name} with a random password nobody knows` });
    return { user: { user_id: '', blocked: false, email: desired.identity.email, ...profile, app_metadata: appMetadata }, organizations: [], tenantRoleNames: [] };
  }
  actions.push({ type: 'createUser', mode: 'inbound-scim', connection: conn, identity: desired.identity, profile, appMetadata, reason: `no Auth0 user yet: forward to Auth0 inbound SCIM of connection ${conn.name}` });
  // Auth0's SCIM mapping sets profile fields by its own rules and never app_metadata, so the diff below
  // plans one updateUser with the tenant's mapped fields.
  return { user: { user_id: '', blocked: false }, organizations: [], tenantRoleNames: [] };
}

/** Org and tenant role diffs inside the managed scope (adds only missing, removes only extra). */
function planMemberships(desired: DesiredState, current: Current, binding: TenantAuth0Binding, actions: SyncAction[]): void {
  const managed = desired.managed;
  const managedOrg = (o: Auth0OrganizationSnapshot) => managed.organizations.find((m) => sameOrg(binding, o, m.name));
  const refOf = (name: string, have?: Auth0OrganizationSnapshot): OrgRef => {
    const id = have?.id ?? (name === binding.organization.name ? binding.organization.id : undefined);
    return id !== undefined ? { name, id } : { name };
  };
  for (const org of desired.organizations) {
    const have = current.organizations.find((o) => sameOrg(binding, o, org.name));
    const ref = refOf(org.name, have);
    const wanted = org.roles.map((r) => r.name);
    if (!have) {
      if (org.name === binding.organization.name && binding.organization.id === undefined) {
        const { name, displayName, metadata } = binding.organization;
        actions.push({ type: 'ensureOrganization', org: { name, ...(displayName !== undefined ? { displayName } : {}), ...(metadata ? { metadata } : {}) }, reason: `organization ${name} is created if missing (issue 6 binding)` });
      }
      actions.push({ type: 'addMembership', org: ref, reason: `member of ${org.name}: ${org.because.length} reason(s)` });
      if (wanted.length > 0) actions.push({ type: 'addOrgRoles', org: ref, roles: wanted, reason: `roles granted in ${org.name}` });
      continue;
    }
    const missing = wanted.filter((r) => !have.roleNames.includes(r));
    if (missing.length > 0) actions.push({ type: 'addOrgRoles', org: ref, roles: missing, reason: `roles granted in ${org.name} but not assigned` });
    const scope = managedOrg(have);
    const extra = have.roleNames.filter((r) => !wanted.includes(r) && scope !== undefined && (scope.allRoles || scope.roles.includes(r)));
    if (extra.length > 0) actions.push({ type: 'removeOrgRoles', org: ref, roles: extra, reason: `roles in ${org.name} no rule grants any more` });
  }
  for (const have of current.organizations) {
    if (desired.organizations.some((o) => sameOrg(binding, have, o.name))) continue;
    if (!managedOrg(have)) continue; // another tenant's or hand-made membership: not ours to remove
    // Removing the membership removes its org roles with it (INFERENCE, research/auth0.md §1.4 member roles).
    actions.push({ type: 'removeMembership', org: refOf(have.name, have), reason: `no longer granted membership of ${have.name}` });
  }
  const wantedTenant = desired.tenantRoles.map((r) => r.name);
  const addTenant = wantedTenant.filter((r) => !current.tenantRoleNames.includes(r));
  if (addTenant.length > 0) actions.push({ type: 'assignTenantRoles', roles: addTenant, reason: 'tenant roles granted but not assigned' });
  const removeTenant = current.tenantRoleNames.filter((r) => !wantedTenant.includes(r) && managed.tenantRoles.includes(r));
  if (removeTenant.length > 0) actions.push({ type: 'removeTenantRoles', roles: removeTenant, reason: 'tenant roles no rule grants any more' });
}

/**
 * Plans one user's sync with the fewest calls. No Auth0 user: link a verified-email candidate, else create
 * per the first connection's mode (enterprise without SCIM waits for first login); nothing is created for
 * a user who is blocked, deleted or in no org. Deprovisioning blocks before revoking; delete makes every
 * other action moot — except in the shared model when the user is in orgs this tenant does not manage,
 * where delete falls back to removing our memberships.
 */
export function planUserSync(desired: DesiredState, snapshot: Auth0Snapshot, binding: TenantAuth0Binding): SyncAction[] {
  const actions: SyncAction[] = [];
  let current: Current | undefined;
  let created = false;
  if (snapshot.user) {
    current = { user: snapshot.user, organizations: snapshot.organizations, tenantRoleNames: snapshot.tenantRoleNames };
  } else {
    if (!desired.exists || desired.blocked || desired.organizations.length === 0) return [];
    current = planAbsentUser(desired, snapshot, binding, actions);
    if (!current) return actions;
    created = actions.some((a) => a.type === 'createUser');
  }

  let revokeSessions = desired.revokeSessions;
  let fellBack = false;
  if (desired.deleteUser) {
    const foreign = current.organizations.filter((o) => !desired.managed.organizations.some((m) => sameOrg(binding, o, m.name)));
    if (binding.userModel !== 'shared' || foreign.length === 0) {
      return [{ type: 'deleteUser', reason: 'deleted in the directory; tenant policy is delete' }];
    }
    // A shared identity other tenants still use is not ours to delete.
    revokeSessions = true;
    fellBack = true;
  }

  const patch = userPatch(desired, current.user, binding);
  const blocking = patch.blocked === true;
  if (Object.keys(patch).length > 0) {
    const changed = Object.keys(patch).filter((k) => k !== 'blocked');
    const parts: string[] = [];
    if (patch.blocked === true) parts.push(fellBack ? 'deleted' : 'deprovisioned: block');
    if (patch.blocked === false) parts.push('reactivated: unblock');
    if (changed.length > 0) parts.push(`update ${changed.join(', ')}`);
    actions.push({ type: 'updateUser', patch, reason: parts.join('; ') });
  }
  const revokeDue = revokeSessions && (blocking || snapshot.sessionsRevoked === false);
  // Block first, then revoke: no new session can be minted in between (DESIGN.md "Deprovisioning").
  if (revokeDue) actions.push({ type: 'revokeSessions', reason: 'deprovisioned: revoke sessions and refresh tokens right away' });

  const before = actions.length;
  planMemberships(desired, current, binding, actions);
  const removedAny = actions.slice(before).some((a) => a.type === 'removeMembership');
  if (revokeSessions && !revokeDue && removedAny) {
    actions.push({ type: 'revokeSessions', reason: fellBack
      ? 'deleted in the directory; the identity is shared with other organizations, so it is removed from ours and its sessions revoked instead of deleted'
      : 'removed from the organization: revoke sessions so no token outlives the membership' });
  }
  if (created && binding.onboarding !== 'none' && actions.some((a) => a.type === 'createUser' && a.mode === 'database')) {
    const { name, id } = binding.organization;
    actions.push({ type: 'sendOnboarding', kind: binding.onboarding, org: id !== undefined ? { name, id } : { name }, reason: `new database user: ${binding.onboarding} so only the user ever sets the password` });
  }
  return actions;
}

/**
 * Management API calls per action. Each membership add counts 1 although the executor batches up to 10
 * users per `POST /organizations/{id}/members` (research/auth0.md §0.3); revocation is one
 * `POST /users/{id}/revoke-access`; linking and waiting are Provisio-side records; ensuring an org is one
 * lookup (plus one create, once per tenant).
 */
export const CALLS_PER_ACTION: Readonly<Record<SyncActionType, number>> = {
  createUser: 1, linkExisting: 0, updateUser: 1, revokeSessions: 1, deleteUser: 1, ensureOrganization: 1,
  addMembership: 1, removeMembership: 1, addOrgRoles: 1, removeOrgRoles: 1, assignTenantRoles: 1,
  removeTenantRoles: 1, sendOnboarding: 1, awaitFirstLogin: 0, holdForReview: 0,
};

/** Upper bound of Management API calls for a plan (before cross-user member batching). */
export function estimateCalls(actions: readonly SyncAction[]): number {
  return actions.reduce((n, a) => n + CALLS_PER_ACTION[a.type], 0);
}
