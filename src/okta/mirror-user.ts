/**
 * One directory user's Okta mirror, end to end: derive the desired Okta user, read Okta (skipped when the
 * last applied state already equals the desired one), plan, execute, record. Idempotent — a job replayed
 * after a crash finds the user it created by login and plans nothing more — so a user is mirrored exactly
 * once however often its job runs.
 */
import type { Kysely } from 'kysely';
import { Auth0NotFoundError } from '../auth0/errors.js';
import type { Auth0Gateway } from '../auth0/gateway.js';
import { findMirror, forgetMirror, recordMirrorOutcome } from '../db/okta.js';
import type { Database, OktaMirrorStatus } from '../db/schema.js';
import { findUserSync } from '../db/sync.js';
import { loadDirectoryUser } from '../sync/sync-user.js';
import type { OktaBinding } from './binding.js';
import { deriveOktaDesired, mapOktaProfile, type OktaDesired } from './desired.js';
import { OktaPermanentError, type OktaGateway, type OktaUser } from './gateway.js';
import type { OktaGroupResolver } from './group-resolver.js';
import { planOktaMirror, type OktaAction, type OktaSnapshot, type ResolvedGroups } from './planner.js';

/** The Auth0 app_metadata key that names the user's Okta user. */
export const OKTA_LINK_KEY = 'okta_user_id';

export interface MirrorDeps {
  readonly db: Kysely<Database>;
  readonly okta: OktaGateway;
  readonly groups: OktaGroupResolver;
  /** Writes the Okta user id into the Auth0 user's app_metadata (absent: not written, e.g. in a dry run). */
  readonly auth0?: Auth0Gateway;
  /** Plan only: read Okta, compute the actions, change nothing (reconcile --dry-run). */
  readonly dryRun?: boolean;
  /** Read Okta even when the last applied state matches (reconcile: repair drift made in the admin console). */
  readonly force?: boolean;
}

export interface MirrorResult {
  /** `unbound`: the tenant has no Okta binding; `none`: the user is not mirrored (not provisioned into Auth0). */
  readonly status: OktaMirrorStatus | 'unbound' | 'none';
  readonly actions: readonly OktaAction[];
  readonly oktaUserId: string | null;
  readonly reason: string;
  /** The directory changed while the job ran: queue the user again. */
  readonly changedMeanwhile?: true;
}

/** What the last successful run left in Okta; equal to the next run's wish means there is nothing to read or do. */
interface Applied {
  readonly presence: OktaDesired['presence'];
  readonly profile: Record<string, string | null>;
  readonly groups: readonly string[];
  readonly auth0Link: string | null;
}

function sameApplied(a: unknown, b: Applied): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sortedProfile(profile: Record<string, string | null>): Record<string, string | null> {
  return Object.fromEntries(Object.entries(profile).sort(([x], [y]) => x.localeCompare(y)));
}

async function resolveGroups(deps: MirrorDeps, binding: OktaBinding, desired: OktaDesired): Promise<ResolvedGroups> {
  const create = desired.presence === 'present' && !deps.dryRun;
  const wanted = new Map<string, string>();
  for (const g of desired.groups) {
    const id = await deps.groups.resolve(g.target, create);
    if (id) wanted.set(id, g.because.join('; '));
  }
  const managed = new Set<string>();
  for (const rule of binding.groupRules) {
    const id = await deps.groups.resolve(rule.oktaGroup, false);
    if (id) managed.add(id);
  }
  return { wanted, managed };
}

/** The linked Okta user, else the one with the desired login (never a second user for one login). */
async function findOktaUser(deps: MirrorDeps, linkedId: string | null, login: string | null | undefined): Promise<OktaUser | undefined> {
  if (linkedId) {
    const linked = await deps.okta.getUser(linkedId);
    if (linked) return linked;
  }
  return login ? deps.okta.getUser(login) : undefined;
}

export async function mirrorUser(deps: MirrorDeps, binding: OktaBinding, tenantId: string, userId: string): Promise<MirrorResult> {
  const mirror = await findMirror(deps.db, tenantId, userId);
  const sync = await findUserSync(deps.db, tenantId, userId);
  const user = await loadDirectoryUser(deps.db, tenantId, userId);
  const auth0UserId = sync?.auth0_user_id ?? null;
  const linked = mirror?.okta_user_id ?? null;
  const desired = deriveOktaDesired({ user, auth0UserId, oktaUserId: linked }, binding);
  const seen = mirror?.changed_at ?? null;

  if (sync?.status === 'held') {
    // The Auth0 sync's mass-deprovisioning guard holds this user: Okta waits with it (the mirror stays
    // pending), and the release's Auth0 outcome queues the mirror again.
    return { status: 'none', actions: [], oktaUserId: linked, reason: 'held by the mass-deprovisioning guard of the Auth0 sync: mirrored once released' };
  }
  if (desired.presence === 'none' || (desired.presence === 'deleted' && !linked && !user)) {
    if (!deps.dryRun && mirror) await forgetMirror(deps.db, tenantId, userId);
    return { status: 'none', actions: [], oktaUserId: null, reason: desired.reason };
  }
  const groups = await resolveGroups(deps, binding, desired);
  const wish: Applied = {
    presence: desired.presence,
    profile: sortedProfile(desired.profile),
    groups: [...groups.wanted.keys()].sort(),
    auth0Link: desired.presence === 'deleted' ? null : linked,
  };
  if (!deps.force && linked && mirror?.applied && sameApplied(mirror.applied, wish)) {
    const status = statusOf(desired);
    if (deps.dryRun) return { status, actions: [], oktaUserId: linked, reason: desired.reason };
    const left = await recordMirrorOutcome(deps.db, tenantId, userId, seen, { status, plan: [], error: null });
    return { status, actions: [], oktaUserId: linked, reason: desired.reason, ...(left === 'pending' ? { changedMeanwhile: true as const } : {}) };
  }

  // A deleted user's login comes from its tombstone: an Okta user created by a run that died before it
  // recorded the link is still found, and deactivated.
  const login = desired.presence === 'deleted' ? (user ? mapOktaProfile(user, binding).profile.login : undefined) : desired.profile.login;
  let current = await findOktaUser(deps, linked, login);
  const snapshot: OktaSnapshot = { user: current, groupIds: new Set(current ? (await deps.okta.userGroups(current.id)).map((g) => g.id) : []) };
  const actions = planOktaMirror(desired, snapshot, groups, binding);
  // Link both ways: the Okta id into the Auth0 user's app_metadata (cleared once the Okta user is deleted).
  const oktaId = desired.presence === 'deleted' ? null : current?.id ?? null;
  if (deps.dryRun) return { status: statusOf(desired), actions, oktaUserId: oktaId, reason: desired.reason };

  for (const action of actions) current = await execute(deps, action, current);
  const finalId = desired.presence === 'deleted' ? null : current?.id ?? null;
  let auth0Link = mirror?.applied ? ((mirror.applied as Partial<Applied>).auth0Link ?? null) : null;
  if (auth0UserId && deps.auth0 && auth0Link !== finalId && !(finalId === null && auth0Link === null)) {
    await linkAuth0(deps.auth0, tenantId, auth0UserId, finalId);
    actions.push({ type: 'linkAuth0', auth0UserId, oktaUserId: finalId, reason: finalId ? `app_metadata.${OKTA_LINK_KEY} names the Okta user` : `the Okta user is gone: app_metadata.${OKTA_LINK_KEY} cleared` });
    auth0Link = finalId;
  }
  const status = statusOf(desired);
  if (!user) {
    // An erasure ends here: nothing of the user is kept, the mirror row included.
    await forgetMirror(deps.db, tenantId, userId);
    return { status, actions, oktaUserId: null, reason: desired.reason };
  }
  const applied: Applied = { ...wish, auth0Link };
  const left = await recordMirrorOutcome(deps.db, tenantId, userId, seen, { status, oktaUserId: finalId, applied: applied as unknown as Record<string, unknown>, plan: actions as unknown as unknown[], error: null });
  return { status, actions, oktaUserId: finalId, reason: desired.reason, ...(left === 'pending' ? { changedMeanwhile: true as const } : {}) };
}

function statusOf(desired: OktaDesired): OktaMirrorStatus {
  return desired.presence === 'present' ? 'mirrored' : desired.presence === 'deactivated' ? 'deactivated' : 'deleted';
}

async function execute(deps: MirrorDeps, action: OktaAction, current: OktaUser | undefined): Promise<OktaUser | undefined> {
  const { okta } = deps;
  const id = current?.id;
  switch (action.type) {
    case 'createUser':
      try {
        return await okta.createUser(action.profile, action.activation);
      } catch (err) {
        // The login exists already: a run that created it and died before recording, or another replica's
        // run. Adopt that user instead of failing (exactly one Okta user per directory user).
        if (err instanceof OktaPermanentError && err.status === 400) {
          const existing = await okta.getUser(action.profile.login!);
          if (existing) return existing;
        }
        throw err;
      }
    case 'updateProfile':
      return okta.updateProfile(id!, action.changes);
    case 'activate':
      await tolerate(() => okta.activate(id!), 'E0000016');
      return { ...current!, status: 'ACTIVE' };
    case 'deactivate':
      await tolerate(() => okta.deactivate(id!), 'E0000038');
      return { ...current!, status: 'DEPROVISIONED' };
    case 'deleteUser':
      await okta.deleteUser(id!);
      return undefined;
    case 'addToGroup':
      await okta.addToGroup(action.groupId, id!);
      return current;
    case 'removeFromGroup':
      await okta.removeFromGroup(action.groupId, id!);
      return current;
    case 'linkAuth0':
      return current;
  }
}

/** Okta answers 403 with `code` when the user already is where the call would take it (activated meanwhile). */
async function tolerate(call: () => Promise<void>, code: string): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (err instanceof OktaPermanentError && err.errorCode === code) return;
    throw err;
  }
}

async function linkAuth0(auth0: Auth0Gateway, tenantId: string, auth0UserId: string, oktaUserId: string | null): Promise<void> {
  try {
    await auth0.updateUser(auth0UserId, { app_metadata: { [OKTA_LINK_KEY]: oktaUserId } } as never, `okta:${tenantId}`);
  } catch (err) {
    // The Auth0 user is gone (deleted by the deprovision policy): there is nothing left to link.
    if (err instanceof Auth0NotFoundError) return;
    throw err;
  }
}
