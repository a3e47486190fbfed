/**
 * The Post-Login decision (issue 7): which tenant a login belongs to, whether the directory and the
 * tenant's JIT policy let the user in, and what must exist in Auth0 before the token is issued.
 *
 * Auth0 evaluates organization membership *before* Post-Login Actions run, and with Auto-Membership a user
 * the Action then denies is still a member (research/auth0.md §4.4) — so every deny in an org context
 * also removes the membership Auth0 just granted.
 */
import { insertEvents } from '../db/events.js';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { Auth0Gateway } from '../auth0/gateway.js';
import type { Database } from '../db/schema.js';
import { CallTrace } from '../sync/call-trace.js';
import { DEFAULT_LOGIN_POLICY, type LoginPolicy } from '../sync/config.js';
import { deriveDesiredState } from '../sync/desired-state.js';
import type { DirectoryEvents } from '../sync/events.js';
import { callAuth0 } from '../sync/executor.js';
import type { UserHistoryRecorder } from '../sync/history-recorder.js';
import { loadDirectoryUser } from '../sync/sync-user.js';
import type { TenantConnection } from '../sync/types.js';
import {
  findByAuth0UserId, findByEmail, insertJitUser, loadBoundTenant, loadBoundTenants, otherTenantsOf, recordAuth0UserId,
  type BoundTenant, type LoginDirectoryRow,
} from './directory-lookup.js';
import type { LoginDecision, LoginFacts } from './facts.js';
import { applyLoginState, loginLane, withBudget } from './login-sync.js';

/** User-presentable deny reasons (Auth0 passes them to the app as `error_description`, research/auth0.md §4.3). */
export const DENY = {
  deactivated: 'Your account has been deactivated by your organization. Contact your administrator.',
  notAssigned: (org: string) => `You do not have access to ${org}. Ask your administrator to assign you to this application.`,
  otherTenant: 'This account belongs to another organization. Sign in through your own organization.',
  connection: (org: string) => `This sign-in method is not enabled for ${org}. Use your organization's sign-in.`,
  unverified: 'Your email address is not verified, so this sign-in cannot be connected to your existing account. Contact your administrator.',
  ambiguous: 'Your account needs to be reviewed by your administrator before you can sign in.',
} as const;

export interface LoginDeciderDeps {
  readonly db: Kysely<Database>;
  readonly gateway: Auth0Gateway;
  /** Marks users changed and enqueues their sync (the SCIM write path's own notification). */
  readonly events: DirectoryEvents;
  readonly log: FastifyBaseLogger;
  /** Hard limit for the Auth0 calls made inside a login (the Action itself has 20 s, research/auth0.md §4.1). */
  readonly budgetMs: number;
  /** Where each decision of a bound tenant's login is recorded for the user's timeline. */
  readonly history?: Pick<UserHistoryRecorder, 'record'>;
}

/** Who a decision was about and how it came about, noted while it is made, for the user's history. */
interface LoginNote {
  readonly startedAt: number;
  tenantId?: string;
  /** The directory user, once known; null for someone the directory does not know. */
  userId: string | null;
  /** How an allowed login came about when it was not simply a known user's. */
  how?: 'provisioned' | 'linked';
  trace?: CallTrace;
}

interface Ctx {
  /** The sync's gateway, reporting this decision's calls to its note's trace. */
  readonly gateway: Auth0Gateway;
  readonly note: LoginNote;
  readonly tenant: BoundTenant;
  readonly policy: LoginPolicy;
  /** How the org is named in deny reasons. */
  readonly orgLabel: string;
  /** The binding's entry for the login's connection, if the tenant uses it. */
  readonly connection: TenantConnection | undefined;
}

function policyOf(tenant: BoundTenant): LoginPolicy {
  return tenant.config.binding.login ?? DEFAULT_LOGIN_POLICY;
}

function sameRoles(a: readonly string[], b: unknown): boolean {
  return Array.isArray(b) && a.length === b.length && a.every((r) => b.includes(r));
}

/** Decides logins; one per app (it caches the bound tenants for a second, as the worker caches configs). */
export class LoginDecider {
  private tenants: { list: BoundTenant[]; until: number } | undefined;

  constructor(private readonly deps: LoginDeciderDeps) {}

  private async boundTenants(): Promise<BoundTenant[]> {
    if (this.tenants && this.tenants.until > Date.now()) return this.tenants.list;
    const list = await loadBoundTenants(this.deps.db);
    this.tenants = { list, until: Date.now() + 1000 };
    return list;
  }

  /** The tenant a login belongs to: by its organization, else by its connection (unambiguous or already known). */
  private async resolveTenant(facts: LoginFacts): Promise<BoundTenant | undefined> {
    const tenants = await this.boundTenants();
    const org = facts.organization;
    if (org) {
      return tenants.find((t) => t.config.binding.organization.id === org.id)
        ?? tenants.find((t) => t.config.binding.organization.id === undefined && t.config.binding.organization.name === org.name);
    }
    const byConnection = tenants.filter((t) => t.config.binding.connections.some((c) => c.id === facts.connection.id || c.name === facts.connection.name));
    if (byConnection.length <= 1) return byConnection[0];
    // A connection shared by tenants (the database connection): the tenant whose directory has this user.
    for (const t of byConnection) if (await findByAuth0UserId(this.deps.db, t.tenantId, facts.userId)) return t;
    return undefined;
  }

  /**
   * The decision for one login. Idempotent: replaying it plans nothing new in Auth0. A login of a bound
   * tenant is recorded in its user's history (handed to the recorder, never waited for), failed ones too.
   */
  async decide(facts: LoginFacts): Promise<LoginDecision> {
    const note: LoginNote = { startedAt: performance.now(), userId: null };
    try {
      const decision = await this.judge(facts, note);
      this.remember(facts, note, decision.decision === 'allow' ? (note.how ?? 'allowed') : 'denied', decision.reason ?? null);
      return decision;
    } catch (err) {
      this.remember(facts, note, 'failed', err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  private remember(facts: LoginFacts, note: LoginNote, outcome: string, detail: string | null): void {
    const { history } = this.deps;
    if (!history || note.tenantId === undefined) return;
    const { calls, omitted } = note.trace?.seal() ?? { calls: [], omitted: 0 };
    history.record({
      tenantId: note.tenantId,
      userId: note.userId,
      auth0UserId: facts.userId,
      kind: 'login',
      at: new Date(),
      outcome,
      detail,
      durationMs: Math.round(performance.now() - note.startedAt),
      attempt: null,
      facts: { organization: facts.organization, connection: facts.connection.name },
      calls,
      callsOmitted: omitted,
    });
  }

  private async judge(facts: LoginFacts, note: LoginNote): Promise<LoginDecision> {
    let tenant = await this.resolveTenant(facts);
    // Not a Provisio tenant's org or connection: nothing to say (the Action adds no claims).
    if (!tenant) return { decision: 'allow' };
    // The organization may have been created since the cache was filled (by a just-in-time login or the
    // sync, which store its id): read this tenant again rather than answer without `org_id` for a second.
    if (!tenant.config.binding.organization.id) tenant = (await loadBoundTenant(this.deps.db, tenant.tenantId)) ?? tenant;
    const binding = tenant.config.binding;
    note.tenantId = tenant.tenantId;
    note.trace = new CallTrace();
    const ctx: Ctx = {
      gateway: this.deps.gateway.observed(note.trace.observer),
      note,
      tenant,
      policy: policyOf(tenant),
      orgLabel: binding.organization.displayName ?? facts.organization?.name ?? binding.organization.name,
      connection: binding.connections.find((c) => c.id === facts.connection.id || c.name === facts.connection.name),
    };

    const known = await findByAuth0UserId(this.deps.db, tenant.tenantId, facts.userId);
    if (known) {
      note.userId = known.userId;
      return this.answerFromApplied(ctx, known, facts) ?? this.decideKnown(ctx, known, facts, facts.userId);
    }
    if (!ctx.connection) return this.deny(ctx, facts, DENY.connection(ctx.orgLabel));
    if ((await otherTenantsOf(this.deps.db, tenant.tenantId, facts.userId)).length > 0) return this.deny(ctx, facts, DENY.otherTenant);

    if (facts.email) {
      const matches = await findByEmail(this.deps.db, tenant.tenantId, facts.email);
      if (matches.length > 1) return this.deny(ctx, facts, DENY.ambiguous);
      const [match] = matches;
      if (match) return this.decideByEmail(ctx, match, facts, ctx.connection);
    }
    return this.decideUnknown(ctx, facts);
  }

  /** A directory user with this email: record the Auth0 id of a pending user, or link a second identity. */
  private async decideByEmail(ctx: Ctx, match: LoginDirectoryRow, facts: LoginFacts, connection: TenantConnection): Promise<LoginDecision> {
    const { db, events } = this.deps;
    const { gateway } = ctx;
    const tenantId = ctx.tenant.tenantId;
    ctx.note.userId = match.userId;
    if (match.auth0UserId === null) {
      // The tenant's own IdP pushed this user and asserts the email on its enterprise connection; a database
      // or social login must prove the address (never bind an account on an unverified email).
      if (!facts.emailVerified && connection.mode === 'database') return this.deny(ctx, facts, DENY.unverified);
      await db.transaction().execute(async (trx) => {
        if (await recordAuth0UserId(trx, tenantId, match.userId, facts.userId)) await events.usersChanged(trx, tenantId, [match.userId]);
      });
      this.deps.log.info({ tenantId, userId: match.userId, auth0UserId: facts.userId }, 'login: recorded the Auth0 user of a pending directory user');
      return this.decideKnown(ctx, { ...match, auth0UserId: facts.userId, status: 'pending' }, facts, facts.userId);
    }
    // Situation 3: the user exists in Auth0 (e.g. a database user) and now signs in by SSO for the first time.
    if (!facts.emailVerified) return this.deny(ctx, facts, DENY.unverified);
    const primaryId = match.auth0UserId;
    const linked = await withBudget((async () => {
      const primary = await callAuth0(() => gateway.getUser(primaryId, loginLane(tenantId)));
      if (!primary || !primary.email_verified || primary.email?.toLowerCase() !== facts.email) return 'refused' as const;
      if (primary.identities.some((i) => `${i.provider}|${i.user_id}` === facts.userId)) return 'linked' as const;
      const provider = facts.identities.find((i) => facts.userId.startsWith(`${i.provider}|`))?.provider ?? facts.connection.strategy;
      const secondary = facts.userId.startsWith(`${provider}|`) ? facts.userId.slice(provider.length + 1) : facts.userId;
      await callAuth0(() => gateway.linkIdentity(primaryId, { provider, user_id: secondary, connection_id: facts.connection.id }, loginLane(tenantId)));
      ctx.note.how = 'linked';
      this.deps.log.info({ tenantId, primary: primaryId, secondary: facts.userId }, 'login: linked the SSO identity to the existing user with the same verified email');
      return 'linked' as const;
    })(), this.deps.budgetMs).catch((err: unknown) => {
      this.deps.log.warn({ err, tenantId }, 'login: linking failed');
      return { done: false } as const;
    });
    if (!linked.done) return { decision: 'deny', reason: DENY.ambiguous };
    if (linked.value === 'refused') return this.deny(ctx, facts, DENY.unverified);
    const decision = await this.decideKnown(ctx, match, facts, primaryId);
    return decision.decision === 'allow' ? { ...decision, primaryUserId: primaryId } : decision;
  }

  /** Not in the directory: the tenant's JIT policy decides. */
  private async decideUnknown(ctx: Ctx, facts: LoginFacts): Promise<LoginDecision> {
    const { policy } = ctx;
    const domain = facts.email?.split('@')[1];
    const jit = policy.jit === 'jit' || (policy.jit === 'jit-if-domain' && facts.emailVerified && domain !== undefined && policy.emailDomains.includes(domain));
    if (!jit) return this.deny(ctx, facts, DENY.notAssigned(ctx.orgLabel));
    const { db, events } = this.deps;
    const tenantId = ctx.tenant.tenantId;
    const email = facts.emailVerified ? facts.email : null;
    let userId: string;
    try {
      userId = await db.transaction().execute(async (trx) => {
        const id = await insertJitUser(trx, tenantId, { email, auth0UserId: facts.userId });
        await events.usersChanged(trx, tenantId, [id]);
        await recordAuth0UserId(trx, tenantId, id, facts.userId);
        // Beside the trigger's user.created: the product learns that this user came in by a login, and its Auth0 id.
        await insertEvents(trx, [{
          tenantId, type: 'login.jit_provisioned', subject: id,
          data: { user: { id, email }, auth0UserId: facts.userId, organization: facts.organization ?? null, connection: facts.connection.name },
        }]);
        return id;
      });
    } catch (err) {
      // A concurrent replay of the same login won the insert: judge the user it recorded.
      const again = await findByAuth0UserId(db, tenantId, facts.userId);
      if (!again) throw err;
      return this.decideKnown(ctx, again, facts, facts.userId);
    }
    ctx.note.how = 'provisioned';
    this.deps.log.info({ tenantId, userId, auth0UserId: facts.userId }, 'login: provisioned just in time');
    return this.decideKnown(ctx, { userId, auth0UserId: facts.userId, status: 'pending', applied: null }, facts, facts.userId);
  }

  /**
   * The hot path: a synced, active user whose applied state has the binding org. `synced` means no SCIM
   * change is pending (every write marks the user pending), so what the worker applied is the desired
   * state and the roles can be answered without reading the directory or Auth0.
   */
  private answerFromApplied(ctx: Ctx, row: LoginDirectoryRow, facts: LoginFacts): LoginDecision | undefined {
    const binding = ctx.tenant.config.binding;
    const applied = row.applied;
    if (row.status !== 'synced' || row.active !== true || row.overridden === true || !applied || applied.blocked === true) return undefined;
    const orgs = Array.isArray(applied.organizations) ? (applied.organizations as unknown[]) : [];
    const home = orgs.find((o): o is { name: string; roles: unknown } => typeof o === 'object' && o !== null && (o as { name?: unknown }).name === binding.organization.name);
    if (!home || !Array.isArray(home.roles) || !home.roles.every((r): r is string => typeof r === 'string')) return undefined;
    const orgId = facts.organization?.id ?? binding.organization.id;
    if (!orgId) return undefined;
    const ns = ctx.policy.claimsNamespace;
    return { decision: 'allow', claims: { [`${ns}org_id`]: orgId, [`${ns}roles`]: [...(home.roles as string[])].sort() } };
  }

  /** A directory user: deactivated → deny and revoke; active → membership and roles now, the rest queued. */
  private async decideKnown(ctx: Ctx, row: LoginDirectoryRow, facts: LoginFacts, auth0UserId: string): Promise<LoginDecision> {
    const { db, events, log, budgetMs } = this.deps;
    const { gateway } = ctx;
    const tenantId = ctx.tenant.tenantId;
    ctx.note.userId = row.userId;
    const { binding, rules } = ctx.tenant.config;
    const user = await loadDirectoryUser(db, tenantId, row.userId);
    if (!user) return this.deny(ctx, facts, DENY.notAssigned(ctx.orgLabel));
    // An admin block or erasure denies like a deactivation, whether or not the sync has applied it yet.
    const adminBlocked = user.override?.blocked === true || user.override?.erase === true;
    if (user.deleted || !user.active || adminBlocked) {
      // Auth0 let the login through, so the block has not landed yet (sync lag, or a first login of a
      // pending user): revoke now, and let the worker block (a deleted user's own job already does).
      const revoked = await withBudget(callAuth0(() => gateway.revokeSessionsAndRefreshTokens(auth0UserId, loginLane(tenantId))), budgetMs)
        .catch((err: unknown) => { log.warn({ err, tenantId }, 'login: revoking sessions failed'); return { done: false } as const; });
      if (!user.deleted && row.status !== 'pending') await db.transaction().execute((trx) => events.usersChanged(trx, tenantId, [row.userId]));
      log.info({ tenantId, userId: row.userId, revoked: revoked.done, adminBlocked }, 'login: deactivated user denied');
      await this.recordDenial(ctx, facts, DENY.deactivated);
      return { decision: 'deny', reason: DENY.deactivated };
    }
    const desired = deriveDesiredState(user, binding, rules);
    const home = desired.organizations.find((o) => o.name === binding.organization.name);
    if (!home) return this.deny(ctx, facts, DENY.notAssigned(ctx.orgLabel));
    const roles = home.roles.map((r) => r.name).sort();
    let orgId = facts.organization?.id ?? binding.organization.id;

    const applied = row.applied?.organizations;
    const upToDate = row.status === 'synced' && row.auth0UserId === auth0UserId && Array.isArray(applied)
      && applied.some((o: unknown) => typeof o === 'object' && o !== null && (o as { name?: unknown }).name === home.name && sameRoles(roles, (o as { roles?: unknown }).roles));
    if (!upToDate) {
      const result = await withBudget(applyLoginState({ gateway, tenantId, binding }, desired, auth0UserId, facts.organization, facts.loginsCount <= 1 && auth0UserId === facts.userId), budgetMs)
        .catch((err: unknown) => { log.warn({ err, tenantId, userId: row.userId }, 'login: applying membership failed; the sync queue repairs it'); return { done: false } as const; });
      if (result.done) orgId ??= result.value.orgId;
      else log.warn({ tenantId, userId: row.userId, budgetMs }, 'login: membership not confirmed within the budget; left to the sync queue');
      // The rest (profile, tenant roles, recording what was applied) is the worker's, as for any change.
      if (row.status !== 'pending' || !result.done || result.value.actions.length > 0) {
        await db.transaction().execute((trx) => events.usersChanged(trx, tenantId, [row.userId]));
      }
    }
    const ns = ctx.policy.claimsNamespace;
    const appMetadata = Object.fromEntries(Object.entries(desired.appMetadata).filter(([, v]) => v !== null && v !== undefined));
    return {
      decision: 'allow',
      claims: { ...(orgId ? { [`${ns}org_id`]: orgId } : {}), [`${ns}roles`]: roles },
      ...(Object.keys(appMetadata).length > 0 ? { appMetadata } : {}),
    };
  }

  /** Denies; in an org context also removes the membership Auto-Membership granted before the Action ran. */
  private async deny(ctx: Ctx, facts: LoginFacts, reason: string): Promise<LoginDecision> {
    const org = facts.organization;
    if (org) {
      const tenantId = ctx.tenant.tenantId;
      const removed = await withBudget(callAuth0(() => ctx.gateway.removeMembers(org.id, [facts.userId], loginLane(tenantId))), this.deps.budgetMs)
        .catch((err: unknown) => { this.deps.log.warn({ err, tenantId }, 'login: removing the auto-granted membership failed'); return { done: false } as const; });
      this.deps.log.info({ tenantId, auth0UserId: facts.userId, org: org.id, removed: removed.done }, 'login: denied; membership granted at login removed');
    }
    await this.recordDenial(ctx, facts, reason);
    return { decision: 'deny', reason };
  }

  /**
   * The `login.denied` event. The denial changes nothing to write it beside, so it is its own statement;
   * a failure to store it is logged, never turned into a failed login.
   */
  private async recordDenial(ctx: Ctx, facts: LoginFacts, reason: string): Promise<void> {
    const userId = ctx.note.userId;
    try {
      await insertEvents(this.deps.db, [{
        tenantId: ctx.tenant.tenantId, type: 'login.denied', subject: userId ?? facts.userId,
        data: { userId, auth0UserId: facts.userId, email: facts.email ?? null, reason, organization: facts.organization ?? null, connection: facts.connection.name },
      }]);
    } catch (err) {
      this.deps.log.warn({ err, tenantId: ctx.tenant.tenantId }, 'login: the login.denied event could not be stored');
    }
  }
}
