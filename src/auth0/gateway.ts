/**
 * Every Management API call the sync makes, each metered by the tenant's `RateBudget` (acquire before,
 * observe the `x-ratelimit-*` headers after — research/auth0.md §2) and failing only with classified
 * `Auth0Error`s. Every method takes the Provisio tenant id as `fairnessKey` so tenants share the budget
 * fairly. Methods are idempotent where Auth0 lets us be (409 on create → fetch, 404 on revoke → done).
 */
import type { ManagementClient } from 'auth0';
import { performance } from 'node:perf_hooks';
import { CallStats, type CallOutcome } from './call-stats.js';
import type { Auth0Settings } from './client.js';
import { Auth0ConflictError, Auth0NotFoundError, classifyAuth0Error, type Auth0RetryableError } from './errors.js';
import { createInboundScimUser, type InboundScimUser } from './inbound-scim.js';
import { RateBudget, type Auth0Bucket, type BudgetClock } from './rate-budget.js';
import {
  boolField, idsOf, rolesOf, stringField, toInvitation, toOrganization, toUser,
  type Auth0Invitation, type Auth0Organization, type Auth0User, type Auth0UserPatch, type CreateDatabaseUserInput, type InvitationInput, type ResolvedRoles,
} from './types.js';

/** Options of `Auth0Gateway`. */
export interface Auth0GatewayOptions {
  /** The SDK client, or how to build it on the first call (see `fromSettings`). */
  client: ManagementClient | (() => Promise<ManagementClient>);
  budget: RateBudget;
  /** Strings never to appear in error messages (the client secret). */
  secrets?: readonly string[];
  /** For inbound SCIM (the SDK has no method for it); global `fetch` by default. */
  fetch?: typeof fetch;
  now?: () => number;
  /** How long resolved role ids are trusted (default 60 s): roles are rarely renamed, never re-id'd. */
  roleCacheTtlMs?: number;
  scimTimeoutMs?: number;
}

/**
 * Hears of each call a gateway view makes (`Auth0Gateway.observed`): its operation template, outcome and
 * duration, once it ended. Called synchronously on the call's path, so it must only note and return.
 */
export type CallObserver = (operation: string, outcome: CallOutcome, durationMs: number) => void;

/** Auth0 caps `POST /organizations/{id}/members` at 10 ids (§0.3); DELETE has no documented cap — same, to be safe. */
export const MEMBERS_PER_REQUEST = 10;
/** Public-cloud page size maximum is 50 (docs) even though the spec says 100 (§1.2). */
const PAGE = 50;
const NO_RETRY = { maxRetries: 0 } as const;

interface Raw<T> {
  data: T;
  rawResponse: { status: number; headers: Headers };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Auth0 Management API access for the sync worker: metered, classified, fair between tenants. */
export class Auth0Gateway {
  readonly stats = new CallStats();
  readonly budget: RateBudget;
  /** Shared with the views `observed` makes, so the client is built once. */
  private readonly sdkClient: { client?: ManagementClient; build?: Promise<ManagementClient>; readonly make: () => Promise<ManagementClient> };
  private readonly secrets: readonly string[];
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly roleTtl: number;
  private readonly scimTimeoutMs: number;
  private readonly roleCache = new Map<string, { id: string; expires: number }>();
  /** Set on a view made by `observed` only. */
  private observer: CallObserver | undefined;

  constructor(options: Auth0GatewayOptions) {
    const { client } = options;
    // A client given ready-made still loads client.ts first, which registers the SDK with the error
    // classification (src/auth0/sdk.ts): its errors must be recognised as the SDK's.
    this.sdkClient = { make: typeof client === 'function' ? client : async () => (await import('./client.js'), client) };
    this.budget = options.budget;
    this.secrets = options.secrets ?? [];
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.now = options.now ?? Date.now;
    this.roleTtl = options.roleCacheTtlMs ?? 60_000;
    this.scimTimeoutMs = options.scimTimeoutMs ?? 15_000;
  }

  /** A gateway for one Auth0 tenant from its settings (one SDK client, one budget for the plan). */
  static fromSettings(cfg: Auth0Settings, clock?: BudgetClock): Auth0Gateway {
    return new Auth0Gateway({
      // Built on the first call: the SDK is imported then, not when the process starts (src/auth0/sdk.ts).
      client: async () => (await import('./client.js')).createManagementClient(cfg),
      budget: new RateBudget({ plan: cfg.plan, ...(clock ? { clock } : {}) }),
      secrets: [cfg.clientSecret],
      ...(cfg.timeoutSeconds ? { scimTimeoutMs: cfg.timeoutSeconds * 1000 } : {}),
    });
  }

  /**
   * This gateway, also reporting each call it makes to `observer` (a sync job's or a login's history). The
   * view shares everything else: client, token, rate budget, role cache, counts. It is made per job, so it
   * is a prototype view rather than a second client.
   */
  observed(observer: CallObserver): Auth0Gateway {
    const view = Object.create(this) as Auth0Gateway;
    view.observer = observer;
    return view;
  }

  /** Counts a finished call, and tells the view's observer; an observer's failure never fails the call. */
  private count(operation: string, outcome: CallOutcome, startedAt: number): void {
    this.stats.record(operation, outcome);
    if (!this.observer) return;
    try {
      this.observer(operation, outcome, performance.now() - startedAt);
    } catch {
      // The history is best effort (src/sync/history-recorder.ts); the call succeeded or failed on its own.
    }
  }

  /** The SDK client; only valid inside a `call`, which builds it first. */
  private get client(): ManagementClient {
    return this.sdkClient.client!;
  }

  /**
   * Builds the SDK client now rather than on the first call. For callers with a time budget (the login
   * decision): importing the SDK takes about half a second, which must not come out of a login's budget.
   */
  async prepare(): Promise<void> {
    if (!this.sdkClient.client) await this.connect();
  }

  private async connect(): Promise<void> {
    const holder = this.sdkClient;
    holder.build ??= holder.make();
    try {
      holder.client = await holder.build;
    } catch (err) {
      // Not cached: the next call tries again.
      holder.build = undefined;
      throw err;
    }
  }

  /** Acquire → call → observe → count; any failure becomes an `Auth0Error`. */
  private async call<T>(operation: string, bucket: Auth0Bucket, key: string, fn: () => Promise<Raw<T>>): Promise<T> {
    if (!this.sdkClient.client) await this.connect();
    await this.budget.acquire(bucket, key);
    // The wait for the budget is not the call's: the duration is Auth0's answer time.
    const startedAt = performance.now();
    try {
      const { data, rawResponse } = await fn();
      this.budget.observe(bucket, rawResponse.headers, rawResponse.status);
      this.count(operation, rawResponse.status, startedAt);
      return data;
    } catch (err) {
      const raw = (err as { rawResponse?: { status?: unknown; headers?: unknown } } | undefined)?.rawResponse;
      const classified = classifyAuth0Error(err, { operation, now: this.now(), secrets: this.secrets });
      if (raw && raw.headers instanceof Headers && typeof classified.status === 'number') {
        this.budget.observe(bucket, raw.headers, classified.status);
      }
      const reason = (classified as Partial<Auth0RetryableError>).reason;
      this.count(operation, classified.status ?? (reason === 'timeout' || reason === 'network' ? reason : 'error'), startedAt);
      throw classified;
    }
  }

  // ── users ────────────────────────────────────────────────────────────────────────────────────

  /** `GET /users/{id}`; undefined when the user does not exist. */
  async getUser(id: string, key: string): Promise<Auth0User | undefined> {
    const op = 'GET /users/{id}';
    try {
      return toUser(await this.call(op, 'read_users', key, () => this.client.users.get(id, undefined, NO_RETRY).withRawResponse()), op);
    } catch (err) {
      if (err instanceof Auth0NotFoundError) return undefined;
      throw err;
    }
  }

  /** `GET /users-by-email` — exact, case-sensitive; consistent, unlike search (§1.2). */
  async findUsersByEmail(email: string, key: string): Promise<Auth0User[]> {
    const op = 'GET /users-by-email';
    const data = await this.call(op, 'read_users', key, () => this.client.users.listUsersByEmail({ email }, NO_RETRY).withRawResponse());
    return data.map((u) => toUser(u, op));
  }

  /** `POST /users` on a database connection; 409 (`auth0_idp_error`) surfaces as `Auth0ConflictError`. */
  async createDatabaseUser(input: CreateDatabaseUserInput, key: string): Promise<Auth0User> {
    const op = 'POST /users';
    const body = { verify_email: false, ...input };
    return toUser(await this.call(op, 'write_users', key, () => this.client.users.create(body, NO_RETRY).withRawResponse()), op);
  }

  /** `PATCH /users/{id}` (block/unblock, profile, first-level `app_metadata` merge). */
  async updateUser(id: string, patch: Auth0UserPatch, key: string): Promise<Auth0User> {
    const op = 'PATCH /users/{id}';
    // The SDK types omit `null`, which Auth0 documents as "unset this attribute" (§1.4).
    const body = patch as Parameters<ManagementClient['users']['update']>[1];
    return toUser(await this.call(op, 'write_users', key, () => this.client.users.update(id, body, NO_RETRY).withRawResponse()), op);
  }

  /** `DELETE /users/{id}` (204 even when already gone). */
  async deleteUser(id: string, key: string): Promise<void> {
    await this.call('DELETE /users/{id}', 'write_users', key, () => this.client.users.delete(id, NO_RETRY).withRawResponse());
  }

  /** `DELETE /users/{id}/sessions` + `/refresh-tokens` (both 202); a 404 means nothing is left to revoke. */
  async revokeSessionsAndRefreshTokens(id: string, key: string): Promise<void> {
    const tolerate404 = async (p: Promise<unknown>): Promise<void> => {
      try {
        await p;
      } catch (err) {
        if (!(err instanceof Auth0NotFoundError)) throw err;
      }
    };
    await tolerate404(this.call('DELETE /users/{user_id}/sessions', 'other', key, () => this.client.users.sessions.delete(id, NO_RETRY).withRawResponse()));
    await tolerate404(this.call('DELETE /users/{user_id}/refresh-tokens', 'other', key, () => this.client.users.refreshToken.delete(id, NO_RETRY).withRawResponse()));
  }

  /** `POST /users/{primary}/identities`; `user_id` is the secondary's id without the `provider|` prefix (§1.4). */
  async linkIdentity(primaryId: string, secondary: { provider: string; user_id: string; connection_id?: string }, key: string): Promise<void> {
    const body = secondary as Parameters<ManagementClient['users']['identities']['link']>[1];
    await this.call('POST /users/{id}/identities', 'other', key, () => this.client.users.identities.link(primaryId, body, NO_RETRY).withRawResponse());
  }

  /** `GET /users/{id}/organizations`, all pages. */
  async getUserOrganizations(userId: string, key: string): Promise<Auth0Organization[]> {
    const op = 'GET /users/{id}/organizations';
    const items = await this.offsetPages(op, 'read_user_orgs', key, (page) => this.client.users.organizations.list(userId, { page, per_page: PAGE, include_totals: true }, NO_RETRY));
    return items.map((o) => toOrganization(o, op));
  }

  // ── organizations ────────────────────────────────────────────────────────────────────────────

  /** `GET /organizations/name/{name}`; undefined on 404 (research/auth0.md §7: assumed status). */
  async getOrganizationByName(name: string, key: string): Promise<Auth0Organization | undefined> {
    const op = 'GET /organizations/name/{name}';
    try {
      return toOrganization(await this.call(op, 'read_org_by_name', key, () => this.client.organizations.getByName(name, NO_RETRY).withRawResponse()), op);
    } catch (err) {
      if (err instanceof Auth0NotFoundError) return undefined;
      throw err;
    }
  }

  /** `GET /organizations/{id}`; 404 → `Auth0NotFoundError`. */
  async getOrganization(id: string, key: string): Promise<Auth0Organization> {
    const op = 'GET /organizations/{id}';
    return toOrganization(await this.call(op, 'read_org_by_id', key, () => this.client.organizations.get(id, NO_RETRY).withRawResponse()), op);
  }

  /** `POST /organizations`; a 409 (name taken, e.g. our own earlier attempt) returns the existing org. */
  async createOrganization(
    input: { name: string; display_name?: string; metadata?: Record<string, string>; enabled_connections?: { connection_id: string; assign_membership_on_login?: boolean }[] },
    key: string,
  ): Promise<{ organization: Auth0Organization; created: boolean }> {
    const op = 'POST /organizations';
    try {
      const data = await this.call(op, 'write_orgs', key, () => this.client.organizations.create(input, NO_RETRY).withRawResponse());
      return { organization: toOrganization(data, op), created: true };
    } catch (err) {
      if (!(err instanceof Auth0ConflictError)) throw err;
      const existing = await this.getOrganizationByName(input.name, key);
      if (!existing) throw err;
      return { organization: existing, created: false };
    }
  }

  /** Makes sure `connectionId` is enabled on the org with the given auto-membership (GET, then POST or PATCH). */
  async ensureEnabledConnection(orgId: string, connectionId: string, opts: { assign_membership_on_login: boolean }, key: string): Promise<'created' | 'updated' | 'unchanged'> {
    let current: boolean | undefined;
    try {
      const data = await this.call('GET /organizations/{id}/enabled_connections/{connectionId}', 'read_org_connections', key,
        () => this.client.organizations.enabledConnections.get(orgId, connectionId, NO_RETRY).withRawResponse());
      current = boolField(data, 'assign_membership_on_login') ?? false;
    } catch (err) {
      if (!(err instanceof Auth0NotFoundError)) throw err;
    }
    if (current === undefined) {
      await this.call('POST /organizations/{id}/enabled_connections', 'write_org_connections', key,
        () => this.client.organizations.enabledConnections.add(orgId, { connection_id: connectionId, ...opts }, NO_RETRY).withRawResponse());
      return 'created';
    }
    if (current === opts.assign_membership_on_login) return 'unchanged';
    await this.call('PATCH /organizations/{id}/enabled_connections/{connectionId}', 'write_org_connections', key,
      () => this.client.organizations.enabledConnections.update(orgId, connectionId, opts, NO_RETRY).withRawResponse());
    return 'updated';
  }

  /** Every member's `user_id` (checkpoint pagination, §1.2; the list is eventually consistent). */
  async listMemberIds(orgId: string, key: string): Promise<string[]> {
    const op = 'GET /organizations/{id}/members';
    const ids: string[] = [];
    let from: string | undefined;
    do {
      const page = await this.call(op, 'read_org_members', key, async () => {
        const p = await this.client.organizations.members.list(orgId, { take: PAGE, fields: 'user_id', include_fields: true, ...(from ? { from } : {}) }, NO_RETRY);
        return { data: p, rawResponse: p.rawResponse };
      });
      ids.push(...idsOf(page.data, 'user_id'));
      const next: unknown = page.response.next;
      from = typeof next === 'string' && next.length > 0 ? next : undefined;
    } while (from);
    return ids;
  }

  /** `POST /organizations/{id}/members` in chunks of at most 10 ids (§0.3); re-adding a member is harmless. */
  async addMembers(orgId: string, userIds: readonly string[], key: string): Promise<void> {
    for (const members of chunks(userIds, MEMBERS_PER_REQUEST)) {
      await this.call('POST /organizations/{id}/members', 'write_org_members', key,
        () => this.client.organizations.members.create(orgId, { members }, NO_RETRY).withRawResponse());
    }
  }

  /** `DELETE /organizations/{id}/members` in chunks of 10. */
  async removeMembers(orgId: string, userIds: readonly string[], key: string): Promise<void> {
    for (const members of chunks(userIds, MEMBERS_PER_REQUEST)) {
      await this.call('DELETE /organizations/{id}/members', 'write_org_members', key,
        () => this.client.organizations.members.delete(orgId, { members }, NO_RETRY).withRawResponse());
    }
  }

  /** Org role ids of a member, all pages. */
  async getMemberRoleIds(orgId: string, userId: string, key: string): Promise<string[]> {
    const items = await this.offsetPages('GET /organizations/{id}/members/{user_id}/roles', 'read_org_member_roles', key,
      (page) => this.client.organizations.members.roles.list(orgId, userId, { page, per_page: PAGE, include_totals: true }, NO_RETRY));
    return idsOf(items, 'id');
  }

  /** Assigns org roles (≤50 per member; over that Auth0 answers 409, §0.3); no call for an empty list. */
  async addMemberRoles(orgId: string, userId: string, roleIds: readonly string[], key: string): Promise<void> {
    if (roleIds.length === 0) return;
    await this.call('POST /organizations/{id}/members/{user_id}/roles', 'write_org_member_roles', key,
      () => this.client.organizations.members.roles.assign(orgId, userId, { roles: [...roleIds] }, NO_RETRY).withRawResponse());
  }

  /** Removes org roles from a member; no call for an empty list. */
  async removeMemberRoles(orgId: string, userId: string, roleIds: readonly string[], key: string): Promise<void> {
    if (roleIds.length === 0) return;
    await this.call('DELETE /organizations/{id}/members/{user_id}/roles', 'write_org_member_roles', key,
      () => this.client.organizations.members.roles.delete(orgId, userId, { roles: [...roleIds] }, NO_RETRY).withRawResponse());
  }

  /** Invites `email` into the org (§1.4; 200 with `invitation_url`). */
  async createInvitation(orgId: string, input: InvitationInput, key: string): Promise<{ id: string; invitation_url: string }> {
    const op = 'POST /organizations/{id}/invitations';
    const body = {
      inviter: { name: input.inviterName }, invitee: { email: input.email }, client_id: input.clientId,
      ...(input.connectionId ? { connection_id: input.connectionId } : {}),
      ...(input.roles?.length ? { roles: input.roles } : {}),
      ...(input.ttlSec !== undefined ? { ttl_sec: input.ttlSec } : {}),
      ...(input.app_metadata ? { app_metadata: input.app_metadata } : {}),
      send_invitation_email: input.sendEmail ?? true,
    };
    const data = await this.call(op, 'org_invitations', key, () => this.client.organizations.invitations.create(orgId, body, NO_RETRY).withRawResponse());
    return { id: stringField(data, 'id', op), invitation_url: stringField(data, 'invitation_url', op) };
  }

  /** Pending invitations of the org, all pages (§1.4). */
  async listInvitations(orgId: string, key: string): Promise<Auth0Invitation[]> {
    const op = 'GET /organizations/{id}/invitations';
    const items = await this.offsetPages(op, 'org_invitations', key,
      (page) => this.client.organizations.invitations.list(orgId, { page, per_page: PAGE, include_totals: true }, NO_RETRY));
    return items.map((i) => toInvitation(i, op));
  }

  /** Withdraws an invitation; false when Auth0 has no such invitation (404). */
  async deleteInvitation(orgId: string, invitationId: string, key: string): Promise<boolean> {
    try {
      await this.call('DELETE /organizations/{id}/invitations/{invitation_id}', 'org_invitations', key,
        () => this.client.organizations.invitations.delete(orgId, invitationId, NO_RETRY).withRawResponse());
      return true;
    } catch (err) {
      if (err instanceof Auth0NotFoundError) return false;
      throw err;
    }
  }

  // ── tenant roles ─────────────────────────────────────────────────────────────────────────────

  /** Tenant role ids of a user, all pages. */
  async getUserRoleIds(userId: string, key: string): Promise<string[]> {
    const items = await this.offsetPages('GET /users/{id}/roles', 'other', key,
      (page) => this.client.users.roles.list(userId, { page, per_page: PAGE, include_totals: true }, NO_RETRY));
    return idsOf(items, 'id');
  }

  /** `POST /users/{id}/roles`; no call for an empty list. */
  async assignUserRoles(userId: string, roleIds: readonly string[], key: string): Promise<void> {
    if (roleIds.length === 0) return;
    await this.call('POST /users/{id}/roles', 'other', key, () => this.client.users.roles.assign(userId, { roles: [...roleIds] }, NO_RETRY).withRawResponse());
  }

  /** `DELETE /users/{id}/roles`; no call for an empty list. */
  async removeUserRoles(userId: string, roleIds: readonly string[], key: string): Promise<void> {
    if (roleIds.length === 0) return;
    await this.call('DELETE /users/{id}/roles', 'other', key, () => this.client.users.roles.delete(userId, { roles: [...roleIds] }, NO_RETRY).withRawResponse());
  }

  /**
   * Role names → ids via `GET /roles?name_filter=` (a case-insensitive substring filter, so we keep exact
   * name matches only). Found ids are cached per process for `roleCacheTtlMs`; unknown names are returned,
   * not cached (so a role created a moment later is found) and never created.
   */
  async resolveRoleIds(names: readonly string[], key: string): Promise<ResolvedRoles> {
    const ids = new Map<string, string>();
    const unknown: string[] = [];
    const now = this.now();
    for (const name of new Set(names)) {
      const cached = this.roleCache.get(name);
      if (cached && cached.expires > now) {
        ids.set(name, cached.id);
        continue;
      }
      const items = await this.offsetPages('GET /roles', 'other', key,
        (page) => this.client.roles.list({ name_filter: name, page, per_page: PAGE, include_totals: true }, NO_RETRY));
      const match = rolesOf(items).find((r) => r.name === name);
      if (!match) {
        this.roleCache.delete(name);
        unknown.push(name);
        continue;
      }
      ids.set(name, match.id);
      this.roleCache.set(name, { id: match.id, expires: this.now() + this.roleTtl });
    }
    return { ids, unknown };
  }

  // ── tickets and inbound SCIM ─────────────────────────────────────────────────────────────────

  /** `POST /tickets/password-change` → ticket URL (the invite-by-reset flow, §1.4). */
  async createPasswordChangeTicket(
    input: { user_id: string; client_id?: string; organization_id?: string; ttl_sec?: number; mark_email_as_verified?: boolean },
    key: string,
  ): Promise<string> {
    const op = 'POST /tickets/password-change';
    const data = await this.call(op, 'other', key, () => this.client.tickets.changePassword(input, NO_RETRY).withRawResponse());
    return stringField(data, 'ticket', op);
  }

  /** Creates an enterprise user through Auth0's inbound SCIM and returns its `user_id`; idempotent on 409. */
  createInboundScimUser(connectionScimUrl: string, scimToken: string, scimUser: InboundScimUser, key: string): Promise<string> {
    return createInboundScimUser(
      {
        budget: this.budget, stats: this.stats, fetch: this.fetchFn, now: this.now, secrets: this.secrets, timeoutMs: this.scimTimeoutMs,
        ...(this.observer ? { observer: this.observer } : {}),
      },
      connectionScimUrl, scimToken, scimUser, key,
    );
  }

  /** Offset pagination until a short page (the SDK's own `hasNextPage` needs an extra empty page, §3.2). */
  private async offsetPages(
    operation: string, bucket: Auth0Bucket, key: string,
    load: (page: number) => Promise<{ data: unknown[]; rawResponse: Raw<unknown>['rawResponse']; response: unknown }>,
  ): Promise<unknown[]> {
    const out: unknown[] = [];
    for (let page = 0; ; page++) {
      const p = await this.call(operation, bucket, key, async () => {
        const loaded = await load(page);
        return { data: loaded, rawResponse: loaded.rawResponse };
      });
      out.push(...p.data);
      const total: unknown = typeof p.response === 'object' && p.response !== null ? (p.response as Record<string, unknown>)['total'] : undefined;
      if (p.data.length < PAGE || (typeof total === 'number' && out.length >= total)) return out;
    }
  }
}
