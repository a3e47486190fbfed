import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Auth0ConflictError, Auth0PermanentError, Auth0RetryableError } from '../auth0/errors.js';
import type { Auth0Gateway } from '../auth0/gateway.js';
import type { Auth0User } from '../auth0/types.js';
import type { Auth0Snapshot, DesiredState, OrgRef, SyncAction, TenantAuth0Binding } from './types.js';

/** Tenant-level facts the executor needs besides the plan. */
export interface ExecutionContext {
  readonly gateway: Auth0Gateway;
  /** Fairness key of every Auth0 call: the Provisio tenant id. */
  readonly tenantId: string;
  readonly binding: TenantAuth0Binding;
  /** Auth0 application used for organization invitations (onboarding `invitation`). */
  readonly onboardingClientId?: string;
  /** Adds a user to an org; the worker batches these across users (at most 10 per Auth0 call). */
  readonly addMember: (orgId: string, userId: string) => Promise<void>;
  /** Remembers an org id found or created by name (the binding org's id is stored for later jobs). */
  readonly rememberOrganization: (name: string, id: string) => void;
  readonly knownOrganizations: ReadonlyMap<string, string>;
  /** Opens a sealed secret (an inbound SCIM token); absent when no encryption key is configured. */
  readonly openSecret?: (sealed: string) => string;
}

/** What executing a plan leaves behind, recorded as the user's applied state. */
export interface ExecutionResult {
  readonly auth0UserId: string | null;
  readonly onboarding?: { kind: string; ticketUrl?: string; invitationId?: string };
}

const MAX_FAILURES = 4;

/**
 * Runs one Auth0 call: a 429 waits for its reset however often it comes (a rate limit never fails a
 * job, issue 6), 5xx / timeouts / resets back off and are retried a few times, permanent errors throw.
 */
export async function callAuth0<T>(fn: () => Promise<T>, now: () => number = Date.now): Promise<T> {
  let failures = 0;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof Auth0RetryableError)) throw err;
      if (err.reason === 'rate_limited') {
        await delay(Math.max(50, Math.min(60_000, err.retryAt - now())));
        continue;
      }
      failures++;
      if (failures >= MAX_FAILURES) throw err;
      await delay(Math.max(200 * 2 ** failures, err.retryAt - now()));
    }
  }
}

/** Role names → ids, failing clearly when a rule names a role Auth0 does not have (never invents one). */
async function roleIds(ctx: ExecutionContext, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const resolved = await callAuth0(() => ctx.gateway.resolveRoleIds(names, ctx.tenantId));
  const unknown = names.filter((n) => !resolved.ids.has(n) && !n.startsWith('rol_'));
  if (unknown.length > 0) {
    throw new Auth0PermanentError('GET /roles', 404, 'unknown_role', `role(s) not found in Auth0: ${unknown.join(', ')} — create them or fix the rules`);
  }
  return names.map((n) => resolved.ids.get(n) ?? n);
}

/** An org id by name: remembered, looked up, or (for `ensureOrganization`) created. */
async function orgId(ctx: ExecutionContext, org: OrgRef): Promise<string> {
  if (org.id) return org.id;
  const known = ctx.knownOrganizations.get(org.name);
  if (known) return known;
  const found = await callAuth0(() => ctx.gateway.getOrganizationByName(org.name, ctx.tenantId));
  if (!found) throw new Auth0PermanentError('GET /organizations/name/{name}', 404, 'inexistent_organization', `organization "${org.name}" does not exist in Auth0`);
  ctx.rememberOrganization(org.name, found.id);
  return found.id;
}

/**
 * Jobs of one tenant run concurrently and the first ones of an import all find the org missing: they
 * share one creation (and one round of enabling connections) instead of racing into 409s.
 */
const creatingOrganizations = new Map<string, Promise<string>>();

function ensureOrganization(ctx: ExecutionContext, org: { name: string; displayName?: string; metadata?: Record<string, string> }): Promise<string> {
  const key = `${ctx.tenantId}\u0000${org.name}`;
  let pending = creatingOrganizations.get(key);
  if (!pending) {
    pending = (async () => {
      const { organization } = await callAuth0(() => ctx.gateway.createOrganization({
        name: org.name,
        ...(org.displayName ? { display_name: org.displayName } : {}),
        ...(org.metadata ? { metadata: org.metadata } : {}),
      }, ctx.tenantId));
      for (const c of ctx.binding.connections) {
        await callAuth0(() => ctx.gateway.ensureEnabledConnection(organization.id, c.id, { assign_membership_on_login: c.assignMembershipOnLogin }, ctx.tenantId));
      }
      return organization.id;
    })().finally(() => creatingOrganizations.delete(key));
    creatingOrganizations.set(key, pending);
  }
  return pending;
}

/** Reads what Auth0 has for the user (the planner's input), or the link candidates when there is no user yet. */
export async function readSnapshot(ctx: ExecutionContext, auth0UserId: string | null, desired: DesiredState): Promise<Auth0Snapshot> {
  const { gateway, tenantId: key } = ctx;
  const user = auth0UserId ? await callAuth0(() => gateway.getUser(auth0UserId, key)) : undefined;
  if (!user) {
    const email = desired.identity.email;
    const candidates = email && desired.exists ? await callAuth0(() => gateway.findUsersByEmail(email, key)) : [];
    return { organizations: [], tenantRoleNames: [], candidates: candidates.map(toSnapshotUser) };
  }
  const managedRoleNames = new Set<string>([...desired.managed.tenantRoles, ...desired.tenantRoles.map((r) => r.name)]);
  for (const o of desired.managed.organizations) for (const r of o.roles) managedRoleNames.add(r);
  for (const o of desired.organizations) for (const r of o.roles) managedRoleNames.add(r.name);
  const resolved = managedRoleNames.size ? await callAuth0(() => gateway.resolveRoleIds([...managedRoleNames], key)) : { ids: new Map<string, string>() };
  // Roles Provisio cannot name stay as their ids: the planner only removes them where it manages every role.
  const nameOf = new Map([...resolved.ids].map(([name, id]) => [id, name]));
  const orgs = await callAuth0(() => gateway.getUserOrganizations(user.user_id, key));
  const managedOrgs = new Set(desired.managed.organizations.map((o) => o.name));
  const organizations = [];
  for (const org of orgs) {
    ctx.rememberOrganization(org.name, org.id);
    const ids = managedOrgs.has(org.name) ? await callAuth0(() => gateway.getMemberRoleIds(org.id, user.user_id, key)) : [];
    organizations.push({ id: org.id, name: org.name, roleNames: ids.map((id) => nameOf.get(id) ?? id) });
  }
  const tenantRoleIds = await callAuth0(() => gateway.getUserRoleIds(user.user_id, key));
  return { user: toSnapshotUser(user), organizations, tenantRoleNames: tenantRoleIds.map((id) => nameOf.get(id) ?? id) };
}

function toSnapshotUser(user: Auth0User) {
  return {
    user_id: user.user_id,
    blocked: user.blocked,
    email: user.email,
    email_verified: user.email_verified,
    app_metadata: user.app_metadata,
    identities: user.identities,
    ...(user.name !== undefined ? { name: user.name } : {}),
  };
}

/** A password only Auth0 ever holds: random, never stored or shown (DESIGN.md, database connection mode). */
function throwawayPassword(): string {
  return `${randomBytes(24).toString('base64url')}aA1!`;
}

function requireUser(userId: string | null, action: SyncAction): string {
  if (!userId) throw new Auth0PermanentError(action.type, undefined, 'no_user', `cannot ${action.type}: the Auth0 user does not exist yet`);
  return userId;
}

/** Performs the planned actions in order; returns the Auth0 user id it ends with. */
export async function executePlan(ctx: ExecutionContext, actions: readonly SyncAction[], startUserId: string | null): Promise<ExecutionResult> {
  const { gateway, tenantId: key } = ctx;
  let userId = startUserId;
  let onboarding: ExecutionResult['onboarding'];
  for (const action of actions) {
    switch (action.type) {
      case 'createUser': {
        if (action.mode === 'inbound-scim') {
          userId = await createThroughInboundScim(ctx, action);
          break;
        }
        const email = action.identity.email;
        if (!email) throw new Auth0PermanentError('POST /users', undefined, 'no_email', 'a database-connection user needs an email');
        try {
          const created = await callAuth0(() => gateway.createDatabaseUser({
            connection: action.connection.name,
            email,
            password: throwawayPassword(),
            email_verified: action.identity.emailVerified,
            ...(action.profile as Record<string, string>),
            app_metadata: action.appMetadata,
          }, key));
          userId = created.user_id;
        } catch (err) {
          // A 5xx/timeout after Auth0 applied the create makes the retry answer 409: the user our first
          // attempt created is there. Link it (same connection, same verified email) — never a duplicate.
          if (!(err instanceof Auth0ConflictError)) throw err;
          const existing = (await callAuth0(() => gateway.findUsersByEmail(email, key))).filter((u) =>
            u.email_verified === true && action.identity.emailVerified && u.identities?.some((i) => i.connection === action.connection.name));
          if (existing.length !== 1) throw err;
          userId = existing[0]!.user_id;
        }
        break;
      }
      case 'linkExisting':
        userId = action.userId;
        break;
      case 'updateUser':
        await callAuth0(() => gateway.updateUser(requireUser(userId, action), action.patch, key));
        break;
      case 'revokeSessions':
        await callAuth0(() => gateway.revokeSessionsAndRefreshTokens(requireUser(userId, action), key));
        break;
      case 'deleteUser':
        await callAuth0(() => gateway.deleteUser(requireUser(userId, action), key));
        userId = null;
        break;
      case 'ensureOrganization':
        ctx.rememberOrganization(action.org.name, await ensureOrganization(ctx, action.org));
        break;
      case 'addMembership':
        await ctx.addMember(await orgId(ctx, action.org), requireUser(userId, action));
        break;
      case 'removeMembership': {
        const id = await orgId(ctx, action.org);
        await callAuth0(() => gateway.removeMembers(id, [requireUser(userId, action)], key));
        break;
      }
      case 'addOrgRoles': {
        const [id, roles] = [await orgId(ctx, action.org), await roleIds(ctx, action.roles)];
        await callAuth0(() => gateway.addMemberRoles(id, requireUser(userId, action), roles, key));
        break;
      }
      case 'removeOrgRoles': {
        const [id, roles] = [await orgId(ctx, action.org), await roleIds(ctx, action.roles)];
        await callAuth0(() => gateway.removeMemberRoles(id, requireUser(userId, action), roles, key));
        break;
      }
      case 'assignTenantRoles': {
        const roles = await roleIds(ctx, action.roles);
        await callAuth0(() => gateway.assignUserRoles(requireUser(userId, action), roles, key));
        break;
      }
      case 'removeTenantRoles': {
        const roles = await roleIds(ctx, action.roles);
        await callAuth0(() => gateway.removeUserRoles(requireUser(userId, action), roles, key));
        break;
      }
      case 'sendOnboarding':
        onboarding = await sendOnboarding(ctx, action, requireUser(userId, action));
        break;
      case 'awaitFirstLogin':
      case 'holdForReview':
        break;
    }
  }
  return { auth0UserId: userId, ...(onboarding ? { onboarding } : {}) };
}

/**
 * Enterprise connection with Auth0's inbound SCIM: the user is created through the connection's own SCIM
 * endpoint ahead of login; its SCIM `id` is the Auth0 `user_id` (DESIGN.md, mode 1).
 */
async function createThroughInboundScim(ctx: ExecutionContext, action: Extract<SyncAction, { type: 'createUser' }>): Promise<string> {
  const connection = ctx.binding.connections.find((c) => c.id === action.connection.id);
  if (!connection?.scim || !ctx.openSecret) {
    throw new Auth0PermanentError('POST /scim/v2/connections/{id}/Users', undefined, 'not_configured',
      `connection ${action.connection.name}: inbound SCIM credentials are not configured (binding scim.url/scim.token and PROVISIO_ENCRYPTION_KEY)`);
  }
  const token = ctx.openSecret(connection.scim.sealedToken);
  const { identity, profile } = action;
  const scimUser = {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName: identity.userName,
    ...(identity.externalId ? { externalId: identity.externalId } : {}),
    ...(identity.email ? { emails: [{ value: identity.email, primary: true, type: 'work' }] } : {}),
    name: {
      ...(typeof profile.given_name === 'string' ? { givenName: profile.given_name } : {}),
      ...(typeof profile.family_name === 'string' ? { familyName: profile.family_name } : {}),
    },
    active: true,
  };
  const url = connection.scim.url;
  return callAuth0(() => ctx.gateway.createInboundScimUser(url, token, scimUser, ctx.tenantId));
}

async function sendOnboarding(ctx: ExecutionContext, action: Extract<SyncAction, { type: 'sendOnboarding' }>, userId: string): Promise<ExecutionResult['onboarding']> {
  const { gateway, tenantId: key } = ctx;
  const organizationId = await orgId(ctx, action.org);
  if (action.kind === 'invitation') {
    if (!ctx.onboardingClientId) {
      throw new Auth0PermanentError('POST /organizations/{id}/invitations', undefined, 'not_configured', 'invitation onboarding needs the binding\'s onboardingClientId');
    }
    const user = await callAuth0(() => gateway.getUser(userId, key));
    const invitation = await callAuth0(() => gateway.createInvitation(organizationId, {
      inviterName: ctx.binding.organization.displayName ?? ctx.binding.organization.name,
      email: user?.email ?? '',
      clientId: ctx.onboardingClientId as string,
      sendEmail: true,
    }, key));
    return { kind: 'invitation', invitationId: invitation.id };
  }
  // Auth0 does not email password-change tickets: the URL is kept with the user's sync state for the
  // product to deliver (it is single-use and expires; see docs/sync.md).
  const ticketUrl = await callAuth0(() => gateway.createPasswordChangeTicket({ user_id: userId, organization_id: organizationId, mark_email_as_verified: true }, key));
  return { kind: 'password-ticket', ticketUrl };
}
