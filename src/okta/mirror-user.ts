/**
 * One directory user's Okta mirror, end to end: derive the desired Okta user, read Okta (skipped when the
 * last applied state already equals the desired one), plan, execute, record. Idempotent — a job replayed
 * after a crash finds the user it created through the link recorded at creation, or through Okta's refusal
 * of a taken login, and plans nothing more — so a user is mirrored exactly once however often its job runs.
 */
import type { Kysely } from 'kysely';
import { Auth0NotFoundError } from '../auth0/errors.js';
import type { Auth0Gateway } from '../auth0/gateway.js';
import { findMirror, forgetMirror, linkMirror, markMirrorDirty, recordMirrorOutcome } from '../db/okta.js';
import type { Database, OktaMirrorStatus } from '../db/schema.js';
import { findUserSync } from '../db/sync.js';
import { jsonEqual } from '../sync/planner.js';
import { loadDirectoryUser } from '../sync/sync-user.js';
import type { OktaBinding } from './binding.js';
import { deriveOktaDesired, mapOktaProfile, type OktaDesired } from './desired.js';
import { OktaPermanentError, OktaRetryableError } from './errors.js';
import type { OktaGateway, OktaGroup, OktaUser } from './gateway.js';
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

/** What the last successful run left in Okta; equal to the next run's wish (key order aside: jsonb reorders) means there is nothing to read or do. */
interface Applied {
  /** The Okta org it was applied in (`emulator` for the built-in one): a binding moved to another org starts over. */
  readonly org: string;
  readonly presence: OktaDesired['presence'];
  readonly profile: Record<string, string | null>;
  readonly groups: readonly string[];
  /** The Okta user id written into the Auth0 user's app_metadata, and that Auth0 user. */
  readonly auth0Link: string | null;
  readonly auth0UserId: string | null;
  /** Set while a run is writing: a run that failed half-way leaves Okta unknown, so the next one reads it. */
  readonly dirty?: true;
}


/** The Okta groups the user should be in, as ids (a group named by a rule is created when the user is active). */
async function wantedGroups(deps: MirrorDeps, desired: OktaDesired): Promise<Map<string, string>> {
  const create = desired.presence === 'present' && !deps.dryRun;
  const wanted = new Map<string, string>();
  for (const g of desired.groups) {
    const id = await deps.groups.resolve(g.target, create);
    if (id) wanted.set(id, g.because.join('; '));
  }
  return wanted;
}

/**
 * Which of the user's current Okta groups the mirror manages (only those are ever removed): those a rule
 * names, by id or by name among Okta's own groups (an imported app group of the same name is not ours), and
 * those it added before (a rule deleted since still lets go of its members).
 */
function managedAmong(current: readonly OktaGroup[], binding: OktaBinding, appliedBefore: readonly string[]): Set<string> {
  const ids = new Set([...appliedBefore, ...binding.groupRules.flatMap((r) => ('id' in r.oktaGroup ? [r.oktaGroup.id] : []))]);
  const names = new Set(binding.groupRules.flatMap((r) => ('name' in r.oktaGroup ? [r.oktaGroup.name.toLowerCase()] : [])));
  const ours = (g: OktaGroup) => g.type === undefined || g.type === 'OKTA_GROUP';
  return new Set(current.filter((g) => ids.has(g.id) || (ours(g) && names.has(g.name.toLowerCase()))).map((g) => g.id));
}

async function snapshotOf(deps: MirrorDeps, binding: OktaBinding, user: OktaUser | undefined, wanted: Map<string, string>, appliedBefore: readonly string[]): Promise<{ snapshot: OktaSnapshot; groups: ResolvedGroups }> {
  const current = user ? await deps.okta.userGroups(user.id) : [];
  return { snapshot: { user, groupIds: new Set(current.map((g) => g.id)) }, groups: { wanted, managed: managedAmong(current, binding, appliedBefore) } };
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
  const wanted = await wantedGroups(deps, desired);
  const previous = (mirror?.applied ?? null) as Partial<Applied> | null;
  const wish: Applied = {
    org: binding.orgUrl ?? 'emulator',
    presence: desired.presence,
    profile: desired.profile,
    groups: [...wanted.keys()].sort(),
    auth0Link: desired.presence === 'deleted' ? null : linked,
    auth0UserId,
  };
  if (!deps.force && linked && mirror?.applied && jsonEqual(mirror.applied, wish)) {
    const status = statusOf(desired);
    if (deps.dryRun) return { status, actions: [], oktaUserId: linked, reason: desired.reason };
    const left = await recordMirrorOutcome(deps.db, tenantId, userId, seen, { status, plan: [], error: null });
    return { status, actions: [], oktaUserId: linked, reason: desired.reason, ...(left === 'pending' ? { changedMeanwhile: true as const } : {}) };
  }

  // Without a link, an active user is created at once: a login Okta already has (created by hand, or by
  // a run that died before it recorded the link) answers 400 and is adopted then, which saves a lookup per
  // new user. A deactivated or deleted one is looked up by login (a deleted one's comes from its tombstone),
  // and so is everyone in a reconcile, whose plan must say "adopt", not "create".
  const lookUpLogin = desired.presence !== 'present' || deps.dryRun || deps.force;
  const login = !lookUpLogin ? undefined : desired.presence === 'present' ? desired.profile.login : user ? mapOktaProfile(user, binding).profile.login : undefined;
  // A link made in another org means nothing here.
  let current = await findOktaUser(deps, previous?.org === undefined || previous.org === wish.org ? linked : null, login);
  if (current && desired.presence !== 'present' && !ours(current, binding, auth0UserId)) {
    // Never deprovision an Okta user that names another Auth0 user (a re-hire with the same login has it now).
    current = undefined;
  }
  const appliedBefore = previous?.org === wish.org ? (previous.groups ?? []) : [];
  let { snapshot, groups } = await snapshotOf(deps, binding, current, wanted, appliedBefore);
  let actions = planOktaMirror(desired, snapshot, groups, binding);
  if (deps.dryRun) return { status: statusOf(desired), actions, oktaUserId: desired.presence === 'deleted' ? null : current?.id ?? null, reason: desired.reason };

  // Okta is about to change: until this run records what it left, the next one must read Okta, not trust `applied`.
  if (actions.length > 0 && previous) await markMirrorDirty(deps.db, tenantId, userId);
  const done: OktaAction[] = [];
  for (const action of actions) {
    if (action.type === 'createUser') {
      const made = await createOrAdopt(deps, action);
      current = made.user;
      // Linked at once: a later step that fails must not leave an Okta user the next run (or an erasure) cannot find.
      await linkMirror(deps.db, tenantId, userId, made.user.id);
      if (made.adopted) {
        // Plan again against the user Okta had: its profile, status and groups may differ from a new one's.
        done.push({ type: 'adoptUser', oktaUserId: made.user.id, reason: `Okta already has login ${action.profile.login}: linked instead of created` });
        ({ snapshot, groups } = await snapshotOf(deps, binding, current, wanted, appliedBefore));
        for (const again of planOktaMirror(desired, snapshot, groups, binding)) {
          current = await execute(deps, again, current);
          done.push(again);
        }
        break;
      }
      done.push(action);
      continue;
    }
    current = await execute(deps, action, current);
    done.push(action);
  }
  actions = done;
  const finalId = desired.presence === 'deleted' ? null : current?.id ?? null;
  // Link both ways: the Okta id into the Auth0 user's app_metadata (cleared once the Okta user is deleted).
  let auth0Link = previous?.auth0Link ?? null;
  // Written when the Okta user changed, or when the Auth0 user did (one deleted by its deprovision policy and made again).
  const auth0Changed = (previous?.auth0UserId ?? null) !== auth0UserId;
  if (auth0UserId && deps.auth0 && (auth0Link !== finalId || (auth0Changed && finalId !== null))) {
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

/** True unless the Okta user names, in the Auth0 id attribute, an Auth0 user other than this one. */
function ours(user: OktaUser, binding: OktaBinding, auth0UserId: string | null): boolean {
  const named = user.profile[binding.auth0IdAttribute];
  return named === undefined || named === null || named === '' || auth0UserId === null || named === auth0UserId;
}

/** Creates the user, or finds the one Okta already has with that login (400 E0000001). */
async function createOrAdopt(deps: MirrorDeps, action: Extract<OktaAction, { type: 'createUser' }>): Promise<{ user: OktaUser; adopted: boolean }> {
  try {
    return { user: await deps.okta.createUser(action.profile, action.activation), adopted: false };
  } catch (err) {
    if (err instanceof OktaPermanentError && err.status === 400) {
      const existing = await deps.okta.getUser(action.profile.login!);
      if (existing) return { user: existing, adopted: true };
    }
    throw err;
  }
}

async function execute(deps: MirrorDeps, action: OktaAction, current: OktaUser | undefined): Promise<OktaUser | undefined> {
  const { okta } = deps;
  const id = current?.id;
  switch (action.type) {
    case 'createUser':
    case 'adoptUser':
      return current;
    case 'updateProfile':
      return okta.updateProfile(id!, action.changes);
    case 'activate':
      await tolerate(() => okta.activate(id!, action.sendEmail), 'E0000016');
      return { ...current!, status: 'ACTIVE' };
    case 'deactivate':
      await tolerate(() => okta.deactivate(id!), 'E0000038');
      return { ...current!, status: 'DEPROVISIONED' };
    case 'deleteUser':
      await okta.deleteUser(id!);
      return undefined;
    case 'addToGroup':
      try {
        await okta.addToGroup(action.groupId, id!);
      } catch (err) {
        // A group resolved by name and deleted in the admin console since: found or created again on retry.
        if (err instanceof OktaPermanentError && err.status === 404 && (await deps.groups.forgetId(action.groupId))) {
          throw new OktaRetryableError('PUT /api/v1/groups/{id}/users/{userId}', 404, `Okta group ${action.groupId} is gone; it is resolved again when the job is retried`);
        }
        throw err;
      }
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
