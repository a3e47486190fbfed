import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** One thing that happened to a directory user, from whichever record holds it. */
export interface TimelineEvent {
  readonly at: Date;
  /** `directory`: a SCIM request of the IdP that named the user; `admin`: an admin API action; `sync`: the Auth0 sync's latest outcome. */
  readonly kind: 'directory' | 'admin' | 'sync';
  readonly title: string;
  readonly detail: string | null;
  /** The SCIM status, for directory events. */
  readonly status: number | null;
}

/**
 * A user's timeline, newest first: the IdP's SCIM writes and refused requests that named the user (its own
 * URL, or the POST that created it; successful reads are left out, as in the index that finds them), admin
 * actions on it, and where the sync stands. Group membership changes arrive as
 * requests on the group and are not listed here; the user's groups are in its explanation.
 */
export async function userTimeline(db: Kysely<Database>, tenantId: string, userId: string, limit: number): Promise<TimelineEvent[]> {
  const [requests, audit, sync] = await Promise.all([
    sql<{ at: Date; method: string; path: string; status: number; error_detail: string | null; summary: string | null }>`
      select at, method, path, status, error_detail, summary from scim_requests
      where tenant_id = ${tenantId} and resource_id = ${userId} and (method <> 'GET' or status >= 400)
      order by id desc limit ${limit}`.execute(db),
    sql<{ at: Date; actor: string; action: string; detail: Record<string, unknown> }>`
      select at, actor, action, detail from admin_audit where tenant_id = ${tenantId} and target = ${userId} order by at desc limit ${limit}`.execute(db),
    sql<{ status: string; auth0_user_id: string | null; last_error: string | null; changed_at: Date; synced_at: Date | null }>`
      select status, auth0_user_id, last_error, changed_at, synced_at from user_sync where tenant_id = ${tenantId} and user_id = ${userId}`.execute(db),
  ]);
  const events: TimelineEvent[] = [
    ...requests.rows.map((r) => ({
      at: r.at, kind: 'directory' as const, title: `${r.method} ${r.path.split('?')[0]} → ${r.status}`, detail: r.error_detail ?? r.summary, status: r.status,
    })),
    ...audit.rows.map((a) => ({
      at: a.at, kind: 'admin' as const, title: `${a.action} by ${a.actor}`, detail: Object.keys(a.detail ?? {}).length > 0 ? JSON.stringify(a.detail) : null, status: null,
    })),
  ];
  const state = sync.rows[0];
  if (state) {
    if (state.synced_at) events.push({ at: state.synced_at, kind: 'sync', title: `synced to Auth0${state.auth0_user_id ? ` as ${state.auth0_user_id}` : ''}`, detail: null, status: null });
    if (state.status !== 'synced') {
      events.push({ at: state.changed_at, kind: 'sync', title: `sync ${state.status}`, detail: state.last_error, status: null });
    }
  }
  return events.sort((a, b) => b.at.getTime() - a.at.getTime()).slice(0, limit);
}
