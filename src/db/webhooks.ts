import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, StoredWebhookSecret, WebhookEndpointTable } from './schema.js';
import type { EventEnvelope } from './events.js';
import { toEnvelope } from './events.js';

type Db = Kysely<Database> | Transaction<Database>;

export type WebhookEndpointRow = Selectable<WebhookEndpointTable>;

export interface NewWebhookEndpoint {
  readonly id: string;
  readonly tenantId: string | null;
  readonly url: string;
  readonly description: string | null;
  readonly eventTypes: readonly string[];
  readonly secrets: readonly StoredWebhookSecret[];
}

export async function insertWebhookEndpoint(db: Db, endpoint: NewWebhookEndpoint): Promise<WebhookEndpointRow> {
  return db.insertInto('webhook_endpoints').values({
    id: endpoint.id,
    tenant_id: endpoint.tenantId,
    url: endpoint.url,
    description: endpoint.description,
    event_types: [...endpoint.eventTypes],
    secrets: JSON.stringify(endpoint.secrets),
  }).returningAll().executeTakeFirstOrThrow();
}

export async function findWebhookEndpoint(db: Db, id: string, options: { forUpdate?: boolean } = {}): Promise<WebhookEndpointRow | undefined> {
  const query = db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id);
  return (options.forUpdate ? query.forUpdate() : query).executeTakeFirst();
}

/** The endpoints of one tenant (its own, with `includeGlobal` also those for every tenant), or all of them. */
export async function listWebhookEndpoints(db: Db, filter: { tenantId?: string; includeGlobal?: boolean } = {}): Promise<WebhookEndpointRow[]> {
  let query = db.selectFrom('webhook_endpoints').selectAll().orderBy('created_at').orderBy('id');
  if (filter.tenantId) {
    const tenantId = filter.tenantId;
    query = filter.includeGlobal ? query.where((eb) => eb.or([eb('tenant_id', '=', tenantId), eb('tenant_id', 'is', null)])) : query.where('tenant_id', '=', tenantId);
  }
  return query.execute();
}

export interface WebhookEndpointChanges {
  readonly url?: string;
  readonly description?: string | null;
  readonly eventTypes?: readonly string[];
  readonly secrets?: readonly StoredWebhookSecret[];
  /** true re-enables (and forgets the failure streak); false disables with `disabledReason`. */
  readonly enabled?: boolean;
  readonly disabledReason?: string | null;
}

export async function updateWebhookEndpoint(db: Db, id: string, changes: WebhookEndpointChanges): Promise<WebhookEndpointRow | undefined> {
  return db.updateTable('webhook_endpoints').set({
    ...(changes.url !== undefined ? { url: changes.url } : {}),
    ...(changes.description !== undefined ? { description: changes.description } : {}),
    ...(changes.eventTypes !== undefined ? { event_types: [...changes.eventTypes] } : {}),
    ...(changes.secrets !== undefined ? { secrets: JSON.stringify(changes.secrets) } : {}),
    ...(changes.enabled === true ? { enabled: true, disabled_reason: null, failing_since: null } : {}),
    ...(changes.enabled === false ? { enabled: false, disabled_reason: changes.disabledReason ?? 'disabled by an operator' } : {}),
    updated_at: new Date(),
  }).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function deleteWebhookEndpoint(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** A delivery with its event, as the delivery job and the failure list read it. */
export interface DeliveryWithEvent {
  readonly endpointId: string;
  readonly tenantId: string;
  readonly eventRow: string;
  /** The event's sequence number in its tenant (kept with the delivery: known after the event is pruned). */
  readonly sequence: number;
  readonly tenantName: string | null;
  readonly state: 'pending' | 'delivered' | 'failed';
  readonly attempts: number;
  readonly nextAttemptAt: Date;
  readonly createdAt: Date;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly deliveredAt: Date | null;
  /** Absent when the event was pruned (past EVENT_RETENTION_DAYS). */
  readonly event?: EventEnvelope;
}

interface DeliveryJoinRow {
  endpoint_id: string;
  tenant_id: string;
  event_row: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: Date;
  created_at: Date;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  tenant_name: string | null;
  event_id: string | null;
  seq: string;
  type: string | null;
  at: Date | null;
  data: Record<string, unknown> | null;
}

function toDelivery(row: DeliveryJoinRow): DeliveryWithEvent {
  return {
    endpointId: row.endpoint_id,
    tenantId: row.tenant_id,
    eventRow: String(row.event_row),
    sequence: Number(row.seq),
    tenantName: row.tenant_name,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: new Date(row.next_attempt_at),
    createdAt: new Date(row.created_at),
    lastStatus: row.last_status,
    lastError: row.last_error,
    deliveredAt: row.delivered_at ? new Date(row.delivered_at) : null,
    ...(row.event_id && row.type && row.at && row.data && row.tenant_name !== null
      ? { event: toEnvelope({ tenant_id: row.tenant_id, tenant_name: row.tenant_name, event_id: row.event_id, seq: row.seq, type: row.type, at: row.at, data: row.data }) }
      : {}),
  };
}

const DELIVERY_COLUMNS = sql`d.endpoint_id, d.tenant_id, d.event_row, d.state, d.attempts, d.next_attempt_at, d.created_at, d.last_status, d.last_error,
  d.delivered_at, t.name as tenant_name, e.event_id, d.seq, e.type, e.at, e.data`;

/** The oldest pending deliveries of one endpoint and subject, in sequence order (the delivery job's work). */
export async function nextPendingDeliveries(db: Db, endpointId: string, tenantId: string, subject: string, limit: number): Promise<DeliveryWithEvent[]> {
  const { rows } = await sql<DeliveryJoinRow>`
    select ${DELIVERY_COLUMNS}
    from webhook_deliveries d
      left join events e on e.tenant_id = d.tenant_id and e.id = d.event_row
      left join tenants t on t.id = d.tenant_id
    where d.endpoint_id = ${endpointId} and d.subject = ${subject} and d.tenant_id = ${tenantId} and d.state = 'pending'
    order by d.seq limit ${limit}`.execute(db);
  return rows.map(toDelivery);
}

/** One endpoint's latest deliveries (of one state), newest first. */
export async function listDeliveries(db: Db, endpointId: string, options: { state?: 'pending' | 'delivered' | 'failed'; limit: number }): Promise<DeliveryWithEvent[]> {
  const { rows } = await sql<DeliveryJoinRow>`
    select ${DELIVERY_COLUMNS}
    from webhook_deliveries d
      left join events e on e.tenant_id = d.tenant_id and e.id = d.event_row
      left join tenants t on t.id = d.tenant_id
    where d.endpoint_id = ${endpointId} ${options.state ? sql`and d.state = ${options.state}` : sql``}
    order by d.created_at desc, d.seq desc limit ${options.limit}`.execute(db);
  return rows.map(toDelivery);
}

/**
 * Records a success. The endpoint's `last_success_at` is refreshed at most every 5 s: every delivery of an
 * import writing the one endpoint row would queue them all on its lock.
 */
export async function markDelivered(db: Db, d: Pick<DeliveryWithEvent, 'endpointId' | 'tenantId' | 'eventRow'>, status: number): Promise<void> {
  await sql`with done as (
      update webhook_deliveries set state = 'delivered', attempts = attempts + 1, last_status = ${status}, last_error = null, delivered_at = now()
      where endpoint_id = ${d.endpointId} and tenant_id = ${d.tenantId} and event_row = ${d.eventRow} and state = 'pending')
    update webhook_endpoints set failing_since = null, last_success_at = now()
    where id = ${d.endpointId} and (failing_since is not null or last_success_at is null or last_success_at < now() - interval '5 seconds')`.execute(db);
}

/**
 * Records a failed attempt: the delivery waits until `retryAt`, or with `retryAt` null is given up
 * (`failed`, listed for redelivery). The endpoint's failure streak starts if it was healthy; the returned
 * `failingSince` is when it started, or null when the delivery was no longer pending (given up meanwhile).
 */
export async function markAttemptFailed(
  db: Db, d: Pick<DeliveryWithEvent, 'endpointId' | 'tenantId' | 'eventRow'>, failure: { status: number | null; error: string; retryAt: Date | null },
): Promise<{ failingSince: Date | null }> {
  // Only an attempt whose delivery was still owed counts toward the endpoint's failure streak. One that
  // answered while the endpoint was being disabled finds its delivery given up; counting it would start a
  // streak on an endpoint an operator has just enabled again, and disable it at once when the threshold is 0.
  const { rows } = await sql<{ failing_since: Date | null }>`with attempt as (
      update webhook_deliveries set
        attempts = attempts + 1, last_status = ${failure.status}, last_error = ${failure.error.slice(0, 500)},
        state = ${failure.retryAt === null ? 'failed' : 'pending'}, next_attempt_at = coalesce(${failure.retryAt}::timestamptz, next_attempt_at)
      where endpoint_id = ${d.endpointId} and tenant_id = ${d.tenantId} and event_row = ${d.eventRow} and state = 'pending'
      returning 1)
    update webhook_endpoints set failing_since = coalesce(failing_since, now())
    where id = ${d.endpointId} and exists (select 1 from attempt) returning failing_since`.execute(db);
  const since = rows[0]?.failing_since;
  return { failingSince: since ? new Date(since) : null };
}

/**
 * Gives up every pending delivery of the endpoint, if it is still disabled; returns how many. The check is in
 * the statement: an operator may have enabled it again and redelivered since the caller read it disabled, and
 * those redeliveries are owed.
 */
export async function failPendingDeliveries(db: Db, endpointId: string, reason: string): Promise<number> {
  const result = await sql`update webhook_deliveries set state = 'failed', last_error = ${reason}
    where endpoint_id = ${endpointId} and state = 'pending'
      and exists (select 1 from webhook_endpoints w where w.id = ${endpointId} and not w.enabled)`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * Makes failed deliveries of the endpoint pending again (all of them, or those of the given event ids), with
 * a fresh retry period; returns the (tenant, subject) pairs to queue.
 */
export async function redeliverFailed(db: Db, endpointId: string, eventIds?: readonly string[]): Promise<{ tenantId: string; subject: string; count: number }[]> {
  const { rows } = await sql<{ tenant_id: string; subject: string; n: string }>`
    with again as (
      update webhook_deliveries d set state = 'pending', attempts = 0, next_attempt_at = now(), created_at = now(), last_error = null
      where d.endpoint_id = ${endpointId} and d.state = 'failed'
        ${eventIds ? sql`and exists (select 1 from events e where e.tenant_id = d.tenant_id and e.id = d.event_row and e.event_id = any(${[...eventIds]}::uuid[]))` : sql``}
      returning d.tenant_id, d.subject)
    select tenant_id, subject, count(*) as n from again group by tenant_id, subject`.execute(db);
  return rows.map((r) => ({ tenantId: r.tenant_id, subject: r.subject, count: Number(r.n) }));
}

/**
 * (endpoint, tenant, subject) groups with a pending delivery overdue by more than `graceSeconds`: a job for
 * them was lost (its retries spent while the database was down) or never made (a redelivery from the CLI).
 */
export async function overdueDeliveryGroups(db: Db, graceSeconds: number, limit: number): Promise<{ endpointId: string; tenantId: string; subject: string }[]> {
  const { rows } = await sql<{ endpoint_id: string; tenant_id: string; subject: string }>`
    select distinct d.endpoint_id, d.tenant_id, d.subject from webhook_deliveries d join webhook_endpoints w on w.id = d.endpoint_id
    where d.state = 'pending' and d.next_attempt_at < now() - make_interval(secs => ${graceSeconds}) and w.enabled
    limit ${limit}`.execute(db);
  return rows.map((r) => ({ endpointId: r.endpoint_id, tenantId: r.tenant_id, subject: r.subject }));
}

/** Deliveries counted by endpoint and state (metrics, the endpoint list). */
export async function deliveryCounts(db: Db, endpointIds?: readonly string[]): Promise<Map<string, { pending: number; failed: number }>> {
  if (endpointIds && endpointIds.length === 0) return new Map();
  // Every endpoint is in the answer, with 0s when nothing is owed (a gauge at 0 rather than a vanished series).
  const { rows } = await sql<{ endpoint_id: string; pending: string; failed: string }>`
    select w.id as endpoint_id, count(d.state) filter (where d.state = 'pending') as pending, count(d.state) filter (where d.state = 'failed') as failed
    from webhook_endpoints w left join webhook_deliveries d on d.endpoint_id = w.id and d.state <> 'delivered'
    ${endpointIds ? sql`where w.id = any(${[...endpointIds]}::uuid[])` : sql``}
    group by w.id`.execute(db);
  return new Map(rows.map((r) => [r.endpoint_id, { pending: Number(r.pending), failed: Number(r.failed) }]));
}

/** Deletes settled deliveries (delivered or failed) created before `cutoff`, in batches. */
export async function pruneDeliveries(db: Db, cutoff: Date, batchSize = 10_000, stopped: () => boolean = () => false): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await sql`delete from webhook_deliveries where ctid = any(array(
      select ctid from webhook_deliveries where created_at < ${cutoff} and state <> 'pending' limit ${batchSize}))`.execute(db);
    const deleted = Number(result.numAffectedRows ?? 0n);
    total += deleted;
    if (deleted < batchSize || stopped()) return total;
  }
}
