import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import { listUserHistory, type HistoryCall, type UserHistoryRecord } from './user-history.js';

/** One thing that happened to a directory user, from whichever record holds it. */
export interface TimelineEvent {
  readonly at: Date;
  /**
   * `directory`: a SCIM request of the IdP that named the user; `admin`: an admin API action; `sync`: a sync
   * job run (or, for a user with no run recorded, where the sync stands); `login`: a Post-Login decision.
   */
  readonly kind: 'directory' | 'admin' | 'sync' | 'login' | 'okta';
  readonly title: string;
  readonly detail: string | null;
  /** The SCIM status, for directory events. */
  readonly status: number | null;
  /** A run's outcome (`synced`, `failed`, `held`…) or a login's (`allowed`, `denied`, `provisioned`, `linked`, `failed`). */
  readonly outcome?: string;
  /** A run's attempt: 2 and more are the queue's retries. */
  readonly attempt?: number | null;
  readonly durationMs?: number | null;
  readonly auth0UserId?: string | null;
  /** A failed run: `queued` (retried), `dead-letter` (retries spent) or `none` (permanent error). */
  readonly retry?: string | null;
  /** A login's organization and connection. */
  readonly organization?: { readonly id: string; readonly name: string } | null;
  readonly connection?: string | null;
  /** The Auth0 Management API calls made, in order: the first 15 and the last 5 of them. */
  readonly calls?: readonly HistoryCall[];
  /** Calls made between the kept first and last ones and not kept. */
  readonly callsOmitted?: number;
}

const RETRY: Record<string, string> = {
  queued: 'retried by the queue',
  'dead-letter': 'retries spent (dead letter queue)',
  none: 'not retried (permanent error)',
};

// Titles follow the kind (`login`), as a run's follow `sync`.
const LOGIN: Record<string, string> = {
  allowed: 'allowed',
  provisioned: 'allowed: provisioned just in time',
  linked: 'allowed: SSO identity linked to the existing user',
  denied: 'denied',
  failed: 'decision failed',
};

function stringFact(facts: Record<string, unknown> | null, key: string): string | null {
  const value = facts?.[key];
  return typeof value === 'string' ? value : null;
}

function organizationFact(facts: Record<string, unknown> | null): { id: string; name: string } | null {
  const org = facts?.organization;
  if (typeof org !== 'object' || org === null) return null;
  const { id, name } = org as Record<string, unknown>;
  return typeof id === 'string' && typeof name === 'string' ? { id, name } : null;
}

function runTitle(r: UserHistoryRecord): string {
  const retry = stringFact(r.facts, 'retry');
  const base = r.outcome === 'synced' ? `synced to Auth0${r.auth0UserId ? ` as ${r.auth0UserId}` : ''}`
    : r.outcome === 'failed' ? `failed${retry && RETRY[retry] ? `, ${RETRY[retry]}` : ''}`
      : r.outcome === 'awaiting-login' ? 'awaiting the first login'
        : r.outcome === 'deleted' ? 'deprovisioned in Auth0'
          : r.outcome === 'unbound' ? 'not synced: the tenant is not bound to Auth0'
            : r.outcome;
  return r.attempt !== null && r.attempt > 1 ? `${base} (attempt ${r.attempt})` : base;
}

const OKTA: Record<string, string> = {
  mirrored: 'mirrored to Okta', deactivated: 'deactivated in Okta', deleted: 'deleted from Okta',
  none: 'not mirrored to Okta', unbound: 'not mirrored: the tenant is not bound to Okta',
};

/** An Okta mirror run: what it left in Okta (the Okta user id is in its facts). */
function oktaRunTitle(r: UserHistoryRecord): string {
  const retry = stringFact(r.facts, 'retry');
  const oktaUserId = stringFact(r.facts, 'oktaUserId');
  const base = r.outcome === 'failed' ? `Okta mirror failed${retry && RETRY[retry] ? `, ${RETRY[retry]}` : ''}`
    : `${OKTA[r.outcome] ?? r.outcome}${oktaUserId && r.outcome !== 'deleted' ? ` as ${oktaUserId}` : ''}`;
  return r.attempt !== null && r.attempt > 1 ? `${base} (attempt ${r.attempt})` : base;
}

function historyEvent(r: UserHistoryRecord): TimelineEvent {
  const common = { at: r.at, kind: r.kind, detail: r.detail, status: null, outcome: r.outcome, durationMs: r.durationMs, auth0UserId: r.auth0UserId, calls: r.calls, callsOmitted: r.callsOmitted };
  if (r.kind === 'login') {
    return { ...common, title: LOGIN[r.outcome] ?? r.outcome, organization: organizationFact(r.facts), connection: stringFact(r.facts, 'connection') };
  }
  return { ...common, title: r.kind === 'okta' ? oktaRunTitle(r) : runTitle(r), attempt: r.attempt, retry: stringFact(r.facts, 'retry') };
}

/**
 * A user's timeline, newest first: the IdP's SCIM writes and refused requests that named the user (its own
 * URL, or the POST that created it; successful reads are left out, as in the index that finds them), admin
 * actions on it, each sync job run with its Auth0 calls, and each login decision (also those made before the
 * directory knew the user, found by its Auth0 id). For a user with no run recorded (synced before runs were
 * recorded, or their history pruned) the sync's current state stands in; a change waiting for the worker is
 * always shown. Group membership changes arrive as requests on the group and are not listed here; the
 * user's groups are in its explanation.
 */
export async function userTimeline(db: Kysely<Database>, tenantId: string, userId: string, limit: number): Promise<TimelineEvent[]> {
  const [requests, audit, sync, history] = await Promise.all([
    sql<{ at: Date; method: string; path: string; status: number; error_detail: string | null; summary: string | null }>`
      select at, method, path, status, error_detail, summary from scim_requests
      where tenant_id = ${tenantId} and resource_id = ${userId} and (method <> 'GET' or status >= 400)
      order by id desc limit ${limit}`.execute(db),
    sql<{ at: Date; actor: string; action: string; detail: Record<string, unknown> }>`
      select at, actor, action, detail from admin_audit where tenant_id = ${tenantId} and target = ${userId} order by at desc limit ${limit}`.execute(db),
    sql<{ status: string; auth0_user_id: string | null; last_error: string | null; changed_at: Date; synced_at: Date | null }>`
      select status, auth0_user_id, last_error, changed_at, synced_at from user_sync where tenant_id = ${tenantId} and user_id = ${userId}`.execute(db),
    listUserHistory(db, tenantId, userId, limit),
  ]);
  const events: TimelineEvent[] = [
    ...requests.rows.map((r) => ({
      at: r.at, kind: 'directory' as const, title: `${r.method} ${r.path.split('?')[0]} → ${r.status}`, detail: r.error_detail ?? r.summary, status: r.status,
    })),
    ...audit.rows.map((a) => ({
      at: a.at, kind: 'admin' as const, title: `${a.action} by ${a.actor}`, detail: Object.keys(a.detail ?? {}).length > 0 ? JSON.stringify(a.detail) : null, status: null,
    })),
    ...history.map(historyEvent),
  ];
  const state = sync.rows[0];
  const runs = history.some((h) => h.kind === 'sync');
  if (state) {
    if (state.synced_at && !runs) events.push({ at: state.synced_at, kind: 'sync', title: `synced to Auth0${state.auth0_user_id ? ` as ${state.auth0_user_id}` : ''}`, detail: null, status: null });
    if (state.status === 'pending' || (state.status !== 'synced' && !runs)) {
      events.push({ at: state.changed_at, kind: 'sync', title: `sync ${state.status}`, detail: state.last_error, status: null });
    }
  }
  return events.sort((a, b) => b.at.getTime() - a.at.getTime()).slice(0, limit);
}
