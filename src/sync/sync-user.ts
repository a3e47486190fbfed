import { insertEvents } from '../db/events.js';
import { erasureEvents, failureEvents, outcomeEvents, type PreviousSync } from './outcome-events.js';
import { sql, type Kysely } from 'kysely';
import type { Auth0Gateway } from '../auth0/gateway.js';
import { groupsOfUser } from '../db/directory.js';
import type { Database } from '../db/schema.js';
import type { SecretBox } from '../secrets.js';
import { findSyncConfig, findUserSync, holdUser, isHeld, recordSyncOutcome, rememberOrganizationId, type SyncOutcome } from '../db/sync.js';
import { findOverride, forgetUser, findUserWithOverride, type UserOverride } from '../db/overrides.js';
import { parseSyncConfig, type SyncConfig } from './config.js';
import { deriveDesiredState } from './desired-state.js';
import { executePlan, readSnapshot, type ExecutionContext } from './executor.js';
import { planUserSync } from './planner.js';
import type { Auth0Snapshot, DirectoryUser, SyncAction } from './types.js';
import { enqueueMirrorIfBound } from '../okta/chain.js';
import type { OktaQueue } from '../okta/queue.js';

/** What one user's sync did, for logs, tests and `provisio status`. */
export interface UserSyncResult {
  readonly status: 'synced' | 'awaiting-login' | 'held' | 'deleted' | 'unbound' | 'gone';
  readonly actions: readonly SyncAction[];
  readonly auth0UserId: string | null;
  /** When the directory change this job applies was made (for the sync-lag metric). */
  readonly changedAt?: Date;
  /** Why the user is held (the guard, or a plan that needs review). */
  readonly reason?: string;
  /** A GDPR erasure ended: every record of the user is gone, its history included (write none now). */
  readonly forgotten?: true;
  /** The directory changed while the job ran: the user stays pending and must be synced again. */
  readonly changedMeanwhile?: true;
}

export interface SyncDeps {
  readonly db: Kysely<Database>;
  readonly gateway: Auth0Gateway;
  /** Adds a member through the worker's cross-user batcher (≤10 per Auth0 call). */
  readonly addMember: (tenantId: string, orgId: string, userId: string) => Promise<void>;
  /** Plan only: read Auth0, compute the actions, change nothing (reconcile --dry-run). */
  readonly dryRun?: boolean;
  /** Opens sealed binding secrets (inbound SCIM tokens). */
  readonly secrets?: SecretBox;
  /** The Okta lane: a user provisioned (or deprovisioned) in Auth0 is queued for its Okta mirror (issue 18). */
  readonly okta?: OktaQueue;
}

/** Loads the directory facts about a user; a deleted user comes back from its tombstone. */
export async function loadDirectoryUser(db: Kysely<Database>, tenantId: string, userId: string): Promise<DirectoryUser | undefined> {
  const found = await findUserWithOverride(db, tenantId, userId);
  if (found) {
    const row = found.user;
    const data = row.data as Record<string, unknown>;
    const name = (data.name ?? {}) as Record<string, unknown>;
    const groups = await groupsOfUser(db, tenantId, userId);
    return {
      id: row.id,
      userName: row.user_name,
      externalId: row.external_id,
      active: row.active,
      email: row.email,
      // IdPs assert the addresses they push; Auth0 users created for them start verified (research §c10).
      emailVerified: row.email !== null,
      displayName: row.display_name,
      givenName: typeof name.givenName === 'string' ? name.givenName : null,
      familyName: typeof name.familyName === 'string' ? name.familyName : null,
      resource: { ...data, active: row.active },
      groups: groups.map((g) => ({ id: g.id, externalId: g.external_id, displayName: g.display_name, ...(g.via.length ? { via: g.via } : {}) })),
      deleted: false,
      ...overrideOf(found.override),
    };
  }
  const sync = await findUserSync(db, tenantId, userId);
  if (!sync?.tombstone) return undefined;
  const t = sync.tombstone as { userName?: string; externalId?: string | null; email?: string | null };
  // Deleted users are the rare path: a second indexed lookup is fine here.
  const override = await findOverride(db, tenantId, userId);
  return {
    id: userId, userName: t.userName ?? userId, externalId: t.externalId ?? null, active: false, email: t.email ?? null,
    emailVerified: false, displayName: null, givenName: null, familyName: null, resource: {}, groups: [], deleted: true,
    ...overrideOf(override),
  };
}

function overrideOf(o: UserOverride | undefined): Pick<DirectoryUser, 'override'> {
  return o ? { override: { blocked: o.blocked, removedFromOrg: o.removedFromOrg, erase: o.erase, actor: o.actor } } : {};
}

/**
 * A password-change ticket URL sets the user's password: a secret, kept only sealed (for the operator to
 * deliver; `provisio status` and the operator's admin API open it). Without an encryption key it is not
 * kept at all, only the fact that it was issued.
 */
function storedOnboarding(onboarding: { kind: string; ticketUrl?: string; invitationId?: string }, secrets: SecretBox | undefined): Record<string, unknown> {
  const { ticketUrl, ...rest } = onboarding;
  if (ticketUrl === undefined) return rest;
  return secrets ? { ...rest, ticketIssued: true, sealedTicketUrl: secrets.seal(ticketUrl) } : { ...rest, ticketIssued: true };
}

const configCache = new Map<string, { config: SyncConfig; until: number }>();

/** Drops a cached configuration (after this process rebinds the tenant; other processes see it within 1 s). */
export function forgetSyncConfig(tenantId: string): void {
  configCache.delete(tenantId);
}

/** The tenant's validated sync configuration (cached for a second: every job of a batch needs it). */
export async function loadSyncConfig(db: Kysely<Database>, tenantId: string): Promise<SyncConfig | undefined> {
  const cached = configCache.get(tenantId);
  if (cached && cached.until > Date.now()) return cached.config;
  const stored = await findSyncConfig(db, tenantId);
  if (!stored) return undefined;
  const config = parseSyncConfig(stored);
  configCache.set(tenantId, { config, until: Date.now() + 1000 });
  return config;
}

function previousOf(sync: { auth0_user_id: string | null; applied: unknown; attempts: number } | undefined): PreviousSync | undefined {
  return sync ? { auth0UserId: sync.auth0_user_id, applied: (sync.applied ?? null) as PreviousSync['applied'], attempts: sync.attempts } : undefined;
}

function isDeprovision(actions: readonly SyncAction[]): boolean {
  return actions.some((a) => a.type === 'deleteUser' || a.type === 'removeMembership' || (a.type === 'updateUser' && a.patch.blocked === true));
}

/**
 * Whether the mass-deprovisioning guard judges this plan. The guard holds what the IdP does in bulk; a
 * deprovision an admin override alone causes was decided by a person already (and an erasure must not
 * wait), so only the plan the directory would cause without the override counts.
 */
function guarded(user: DirectoryUser, actions: readonly SyncAction[], snapshot: Auth0Snapshot, config: SyncConfig): boolean {
  if (!isDeprovision(actions)) return false;
  if (!user.override) return true;
  if (user.override.erase) return false;
  const { override: _ignored, ...directoryOnly } = user;
  return isDeprovision(planUserSync(deriveDesiredState(directoryOnly, config.binding, config.rules), snapshot, config.binding));
}

/** True when this deprovision would take the tenant over its guard (share of users in the window). */
async function guardTrips(db: Kysely<Database>, tenantId: string, config: SyncConfig): Promise<boolean> {
  const since = new Date(Date.now() - config.guard.windowMinutes * 60_000);
  const { rows } = await sql<{ recent: string; total: string }>`
    select count(*) filter (where s.changed_at >= ${since} and (s.deleted_at is not null or u.active = false)) as recent,
           count(*) as total
    from user_sync s left join users u on u.tenant_id = s.tenant_id and u.id = s.user_id
    where s.tenant_id = ${tenantId}`.execute(db);
  const recent = Number(rows[0]?.recent ?? 0);
  const total = Number(rows[0]?.total ?? 0);
  return recent > config.guard.minUsers && recent > config.guard.maxShare * total;
}

/**
 * Brings one directory user's Auth0 state to the desired state: derive, read Auth0, plan the fewest
 * calls, execute, record. Idempotent — a replayed job plans nothing once Auth0 matches — so a job
 * retried after a crash neither loses nor duplicates anything.
 */
export async function syncUser(deps: SyncDeps, tenantId: string, userId: string, options: { releaseHold?: boolean } = {}): Promise<UserSyncResult> {
  const startedAt = new Date();
  const config = await loadSyncConfig(deps.db, tenantId);
  if (!config) return { status: 'unbound', actions: [], auth0UserId: null };
  // The sync row first: its `changed_at` tells at the end whether a change committed after the directory was read.
  const sync = await findUserSync(deps.db, tenantId, userId);
  const user = await loadDirectoryUser(deps.db, tenantId, userId);
  if (!user) return { status: 'gone', actions: [], auth0UserId: null };
  let auth0UserId = sync?.auth0_user_id ?? null;

  const known = new Map<string, string>();
  if (config.binding.organization.id) known.set(config.binding.organization.name, config.binding.organization.id);
  const ctx: ExecutionContext = {
    gateway: deps.gateway,
    tenantId,
    binding: config.binding,
    onboardingClientId: config.binding.onboardingClientId,
    addMember: (orgId, auth0Id) => deps.addMember(tenantId, orgId, auth0Id),
    knownOrganizations: known,
    ...(deps.secrets ? { openSecret: (sealed: string) => deps.secrets!.open(sealed) } : {}),
    rememberOrganization: (name, id) => known.set(name, id),
  };
  const desired = deriveDesiredState(user, config.binding, config.rules);
  const snapshot = await readSnapshot(ctx, auth0UserId, desired);
  if (auth0UserId && !snapshot.user) auth0UserId = null;
  const actions = planUserSync(desired, snapshot, config.binding);
  if (deps.dryRun) return { status: 'synced', actions, auth0UserId };

  if (!options.releaseHold && guarded(user, actions, snapshot, config) && ((await isHeld(deps.db, tenantId, userId)) || (await guardTrips(deps.db, tenantId, config)))) {
    await holdUser(deps.db, tenantId, userId, 'mass deprovisioning guard: confirm with `provisio sync release <tenant>`');
    const reason = 'held by the mass-deprovisioning guard';
    await recordSyncOutcome(deps.db, tenantId, userId, startedAt, { status: 'held', plan: actions, error: reason });
    return { status: 'held', actions, auth0UserId, reason };
  }
  if (actions.some((a) => a.type === 'holdForReview')) {
    const reason = actions.find((a) => a.type === 'holdForReview')?.reason ?? 'needs review';
    await recordSyncOutcome(deps.db, tenantId, userId, startedAt, { status: 'held', plan: actions, error: reason });
    return { status: 'held', actions, auth0UserId, reason };
  }

  try {
    const result = await executePlan(ctx, actions, auth0UserId);
    const bindingOrgId = known.get(config.binding.organization.name);
    if (bindingOrgId && !config.binding.organization.id) {
      // Remember the org id so later jobs skip the lookup (the binding keeps its name as the key). Only
      // the id is written: this job's copy of the configuration may already be older than a rules change.
      await rememberOrganizationId(deps.db, tenantId, config.binding.organization.name, bindingOrgId);
      configCache.delete(tenantId);
    }
    const status = user.deleted ? 'deleted' : actions.some((a) => a.type === 'awaitFirstLogin') && !result.auth0UserId ? 'awaiting-login' : 'synced';
    if (user.deleted && user.override?.erase) {
      // GDPR erasure done (the Auth0 user deleted, never created, or — a shared identity other tenants still
      // use — removed from our orgs): forget the user instead of recording an outcome that would keep its
      // tombstone, applied state and plan.
      await deps.db.transaction().execute(async (trx) => {
        await forgetUser(trx, tenantId, userId);
        await insertEvents(trx, erasureEvents(tenantId, user, sync?.auth0_user_id ?? null));
        if (deps.okta) await enqueueMirrorIfBound(trx, deps.okta, tenantId, userId);
      });
      return { status: 'deleted', actions, auth0UserId: null, forgotten: true, ...(sync ? { changedAt: sync.changed_at } : {}) };
    }
    const applied = {
      blocked: desired.blocked,
      organizations: desired.organizations.map((o) => ({ name: o.name, roles: o.roles.map((r) => r.name) })),
      tenantRoles: desired.tenantRoles.map((r) => r.name),
    };
    const outcome: SyncOutcome = { status, auth0UserId: result.auth0UserId, applied: { ...applied, ...(result.onboarding ? { onboarding: storedOnboarding(result.onboarding, deps.secrets) } : {}) }, plan: actions, error: null };
    const events = outcomeEvents(tenantId, user, desired, previousOf(sync), { status, auth0UserId: result.auth0UserId, applied, organizationIds: known, deprovision: config.binding.deprovision });
    // The outcome, its events and the Okta mirror's job in one transaction (the outbox rule); a run with
    // nothing to tell and no mirror to queue needs none.
    const seen = sync?.changed_at ?? null;
    const mirror = deps.okta && (status === 'synced' || status === 'deleted') ? deps.okta : undefined;
    let left: string | undefined;
    if (events.length === 0 && !mirror) left = await recordSyncOutcome(deps.db, tenantId, userId, startedAt, outcome, seen);
    else {
      left = await deps.db.transaction().execute(async (trx) => {
        const status = await recordSyncOutcome(trx, tenantId, userId, startedAt, outcome, seen);
        await insertEvents(trx, events);
        if (mirror) await enqueueMirrorIfBound(trx, mirror, tenantId, userId);
        return status;
      });
    }
    return { status, actions, auth0UserId: result.auth0UserId, ...(sync ? { changedAt: sync.changed_at } : {}), ...(left === 'pending' ? { changedMeanwhile: true as const } : {}) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const failure = { status: 'failed' as const, plan: actions, error: message };
    const events = failureEvents(tenantId, user, previousOf(sync), message);
    await deps.db.transaction().execute(async (trx) => {
      await recordSyncOutcome(trx, tenantId, userId, startedAt, failure);
      await insertEvents(trx, events);
    });
    throw err;
  }
}

