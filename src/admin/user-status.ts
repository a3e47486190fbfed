import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { SecretBox } from '../secrets.js';
import { findUserSync, listHolds, syncStatusCounts } from '../db/sync.js';
import { deriveDesiredState } from '../sync/desired-state.js';
import { describeBecause } from '../sync/rules.js';
import { loadDirectoryUser, loadSyncConfig } from '../sync/sync-user.js';
import { findMirror, isOktaBound, mirrorStatusCounts } from '../db/okta.js';
import { deriveOktaDesired } from '../okta/desired.js';
import { loadOktaBinding } from '../okta/mirror-config.js';

/** "Why does Alice have role X in org Y": the desired state with the reason for each part, and what was applied. */
export interface UserExplanation {
  readonly user: { readonly id: string; readonly userName: string; readonly active: boolean; readonly groups: string[] };
  readonly desired?: {
    readonly exists: boolean;
    readonly blocked: boolean;
    /** Why the user exists, is blocked or deleted: the binding, an IdP deprovision, or an admin override. */
    readonly lifecycle: string;
    readonly organizations: { name: string; because: string; roles: { name: string; because: string }[] }[];
    readonly tenantRoles: { name: string; because: string }[];
    readonly warnings: readonly string[];
  };
  readonly applied?: {
    readonly status: string;
    readonly auth0UserId: string | null;
    readonly state: Record<string, unknown> | null;
    readonly syncedAt: string | null;
    readonly lastError: string | null;
    readonly lastPlan: unknown[] | null;
  };
  /** The Okta mirror (tenants bound to Okta only): what the user's Okta user should be, and why; what was done. */
  readonly okta?: {
    readonly desired: { readonly presence: string; readonly reason: string; readonly groups: { target: string; because: readonly string[] }[]; readonly warnings: readonly string[] };
    readonly applied: { readonly status: string; readonly oktaUserId: string | null; readonly mirroredAt: string | null; readonly lastError: string | null; readonly lastPlan: unknown[] | null } | null;
  };
}

/**
 * The applied state as shown: a sealed password-change ticket is opened for the operator (`secrets`
 * given), and otherwise left out — the ticket sets the user's password.
 */
function shownState(applied: Record<string, unknown> | null, secrets: SecretBox | undefined): Record<string, unknown> | null {
  const onboarding = applied?.onboarding;
  if (!applied || typeof onboarding !== 'object' || onboarding === null) return applied;
  const { sealedTicketUrl, ...rest } = onboarding as Record<string, unknown>;
  let ticketUrl: string | undefined;
  try {
    ticketUrl = secrets && typeof sealedTicketUrl === 'string' ? secrets.open(sealedTicketUrl) : undefined;
  } catch {
    ticketUrl = undefined; // sealed with another key (PROVISIO_ENCRYPTION_KEY changed)
  }
  return { ...applied, onboarding: { ...rest, ...(ticketUrl ? { ticketUrl } : {}) } };
}

/**
 * Explains one directory user; undefined when the tenant has no such user. `secrets` (operators only)
 * opens a sealed password-change ticket so it can be delivered.
 */
export async function explainUser(db: Kysely<Database>, tenantId: string, userId: string, secrets?: SecretBox): Promise<UserExplanation | undefined> {
  const user = await loadDirectoryUser(db, tenantId, userId);
  if (!user || user.deleted) return undefined;
  const [config, sync, oktaBinding, mirror] = await Promise.all([loadSyncConfig(db, tenantId), findUserSync(db, tenantId, userId), loadOktaBinding(db, tenantId), findMirror(db, tenantId, userId)]);
  const oktaDesired = oktaBinding ? deriveOktaDesired({ user, auth0UserId: sync?.auth0_user_id ?? null, oktaUserId: mirror?.okta_user_id ?? null }, oktaBinding) : undefined;
  const desired = config ? deriveDesiredState(user, config.binding, config.rules) : undefined;
  return {
    user: { id: user.id, userName: user.userName, active: user.active, groups: user.groups.map((g) => g.displayName) },
    ...(desired
      ? {
          desired: {
            exists: desired.exists,
            blocked: desired.blocked,
            lifecycle: describeBecause(desired.lifecycle),
            organizations: desired.organizations.map((o) => ({
              name: o.name, because: describeBecause(o.because), roles: o.roles.map((r) => ({ name: r.name, because: describeBecause(r.because) })),
            })),
            tenantRoles: desired.tenantRoles.map((r) => ({ name: r.name, because: describeBecause(r.because) })),
            warnings: desired.warnings,
          },
        }
      : {}),
    ...(sync
      ? {
          applied: {
            status: sync.status, auth0UserId: sync.auth0_user_id, state: shownState(sync.applied, secrets), syncedAt: sync.synced_at?.toISOString() ?? null,
            lastError: sync.last_error, lastPlan: sync.last_plan,
          },
        }
      : {}),
    ...(oktaDesired
      ? {
          okta: {
            desired: {
              presence: oktaDesired.presence, reason: oktaDesired.reason, warnings: oktaDesired.warnings,
              groups: oktaDesired.groups.map((g) => ({ target: 'id' in g.target ? `id ${g.target.id}` : `"${g.target.name}"`, because: g.because })),
            },
            applied: mirror
              ? { status: mirror.status, oktaUserId: mirror.okta_user_id, mirroredAt: mirror.mirrored_at?.toISOString() ?? null, lastError: mirror.last_error, lastPlan: mirror.last_plan }
              : null,
          },
        }
      : {}),
  };
}

/** A tenant's sync counts by status, the deprovisionings held by the guard, and (bound to Okta) the mirror's counts by status. */
export async function tenantSyncStatus(db: Kysely<Database>, tenantId: string): Promise<{ counts: Record<string, number>; held: number; okta?: Record<string, number> }> {
  const [counts, holds, oktaBound] = await Promise.all([syncStatusCounts(db, tenantId), listHolds(db, tenantId), isOktaBound(db, tenantId)]);
  return { counts, held: holds.length, ...(oktaBound ? { okta: await mirrorStatusCounts(db, tenantId) } : {}) };
}
