import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';
import { pruneLogOlderThan } from './log-prune.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Every event type, in docs/events.md's order. */
export const EVENT_TYPES = [
  'user.created', 'user.updated', 'user.deactivated', 'user.reactivated', 'user.deleted',
  'group.created', 'group.updated', 'group.deleted', 'group.member_added', 'group.member_removed',
  'user.provisioned', 'user.sync_failed', 'user.deprovisioned',
  'login.jit_provisioned', 'login.denied',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** An event as receivers get it, by webhook and by pull: the same JSON either way. */
export interface EventEnvelope {
  /** Unique per event; the `webhook-id` of every delivery attempt. */
  readonly id: string;
  readonly type: string;
  /** When the change was made (its transaction's start). */
  readonly timestamp: string;
  readonly tenant: { readonly id: string; readonly name: string };
  /** Per tenant, increasing in commit order, never reused: the pull cursor. */
  readonly sequence: number;
  readonly data: Record<string, unknown>;
}

/** An event written by code rather than by the directory's triggers (the sync's and the login's outcomes). */
export interface NewEvent {
  readonly tenantId: string;
  readonly type: EventType;
  /** The directory user (or Auth0 user, for a login the directory does not know) it is about. */
  readonly subject: string;
  readonly data: Record<string, unknown>;
}

/**
 * Writes events in `db`: pass the transaction of the change that causes them (the outbox rule). Rows of a
 * tenant deleted meanwhile are not written.
 */
export async function insertEvents(db: Db, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.executeQuery(CompiledQuery.raw(
    `insert into events (tenant_id, type, subject, data)
     select t.id, r.type, r.subject, r.data::jsonb
     from unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) with ordinality as r(tenant_id, type, subject, data, n)
     join tenants t on t.id = r.tenant_id order by r.n`,
    [events.map((e) => e.tenantId), events.map((e) => e.type), events.map((e) => e.subject), events.map((e) => JSON.stringify(e.data))],
  ));
}

interface EventRow {
  tenant_id: string;
  tenant_name: string;
  event_id: string;
  seq: string;
  type: string;
  at: Date;
  data: Record<string, unknown>;
}

export function toEnvelope(row: EventRow): EventEnvelope {
  return {
    id: row.event_id,
    type: row.type,
    timestamp: new Date(row.at).toISOString(),
    tenant: { id: row.tenant_id, name: row.tenant_name },
    sequence: Number(row.seq),
    data: typeof row.data === 'string' ? JSON.parse(row.data) : row.data,
  };
}

/** A page of a tenant's numbered events after `after`, oldest first (replay by pull). */
export async function listEvents(db: Db, tenantId: string, options: { after: number; limit: number; types?: readonly string[] }): Promise<EventEnvelope[]> {
  const { rows } = await sql<EventRow>`
    select e.tenant_id, t.name as tenant_name, e.event_id, e.seq, e.type, e.at, e.data
    from events e join tenants t on t.id = e.tenant_id
    where e.tenant_id = ${tenantId} and e.seq > ${options.after}
      ${options.types && options.types.length > 0 ? sql`and e.type = any(${[...options.types]}::text[])` : sql``}
    order by e.seq limit ${options.limit}`.execute(db);
  return rows.map(toEnvelope);
}

/** The oldest sequence number still kept and the last one given, for the pull API's answer. */
export async function eventBounds(db: Db, tenantId: string): Promise<{ oldest: number | null; last: number }> {
  const { rows } = await sql<{ oldest: string | null; last: string | null }>`
    select (select seq from events where tenant_id = ${tenantId} and seq is not null order by seq limit 1) as oldest,
           (select last_seq from event_sequences where tenant_id = ${tenantId}) as last`.execute(db);
  const row = rows[0];
  return { oldest: row?.oldest == null ? null : Number(row.oldest), last: Number(row?.last ?? 0) };
}

/** Deletes events older than `cutoff` (EVENT_RETENTION_DAYS), as the other time-ordered logs are pruned. */
export async function pruneEvents(db: Db, cutoff: Date, batchSize = 10_000, stopped: () => boolean = () => false): Promise<number> {
  return pruneLogOlderThan(db, 'events', cutoff, batchSize, stopped);
}
