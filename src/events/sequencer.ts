import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type { WebhookJobData, WebhookQueue } from './queue.js';

/**
 * Numbers the outbox's events per tenant in commit order and hands each to the webhook endpoints that
 * want it, in one transaction: a numbered event always has its deliveries and their jobs.
 *
 * Identities are given in insert order, and transactions commit in another order, so the sequencer only
 * numbers a row once every transaction older than the oldest still running has ended: rows whose `xid`
 * is below `pg_snapshot_xmin(pg_current_snapshot())` can no longer be joined by an earlier, uncommitted
 * one. It takes the longest run of such rows in identity order, so events of one transaction, and of
 * transactions that waited on each other's row locks (two changes to one user), keep their order. One
 * sequencer runs at a time per schema (an advisory lock), whatever the number of replicas.
 */
export interface SequencerRound {
  /** Events numbered in this round. */
  readonly numbered: number;
  /** Deliveries created (events × endpoints that want them). */
  readonly deliveries: number;
  /** Whether another replica was sequencing (nothing done). */
  readonly busy: boolean;
}

const LOCK = `select pg_try_advisory_xact_lock(hashtext('provisio-event-sequencer:' || current_schema())) as locked`;

const CANDIDATES = `select id, tenant_id, xid < pg_snapshot_xmin(pg_current_snapshot()) as settled
  from events where seq is null order by id limit $1`;

/** Adds each tenant's count to its counter, returning the new last number (tenants deleted meanwhile are skipped). */
const ADVANCE = `insert into event_sequences as s (tenant_id, last_seq)
  select c.tenant_id, c.n from unnest($1::uuid[], $2::int8[]) as c(tenant_id, n) join tenants t on t.id = c.tenant_id
  on conflict (tenant_id) do update set last_seq = s.last_seq + excluded.last_seq
  returning tenant_id, last_seq`;

const NUMBER = `update events e set seq = v.seq
  from unnest($1::uuid[], $2::int8[], $3::int8[]) as v(tenant_id, id, seq)
  where e.tenant_id = v.tenant_id and e.id = v.id`;

const FAN_OUT = `insert into webhook_deliveries (endpoint_id, tenant_id, event_row, seq, subject)
  select w.id, e.tenant_id, e.id, e.seq, e.subject
  from unnest($1::uuid[], $2::int8[]) as v(tenant_id, id)
    join events e on e.tenant_id = v.tenant_id and e.id = v.id
    join webhook_endpoints w on w.enabled and (w.tenant_id is null or w.tenant_id = e.tenant_id)
      and (cardinality(w.event_types) = 0 or e.type = any(w.event_types))
  returning endpoint_id, tenant_id, subject`;

type Db = Kysely<Database> | Transaction<Database>;

async function raw<R>(db: Db, text: string, values: unknown[] = []): Promise<R[]> {
  return (await db.executeQuery(CompiledQuery.raw(text, values))).rows as R[];
}

/** One round over at most `limit` events. */
export async function sequenceEvents(db: Kysely<Database>, queue: WebhookQueue | undefined, limit = 1000): Promise<SequencerRound> {
  return db.transaction().execute(async (trx) => {
    const [lock] = await raw<{ locked: boolean }>(trx, LOCK);
    if (!lock?.locked) return { numbered: 0, deliveries: 0, busy: true };
    const candidates = await raw<{ id: string; tenant_id: string; settled: boolean }>(trx, CANDIDATES, [limit]);
    const ready: { id: string; tenant_id: string }[] = [];
    for (const c of candidates) {
      if (!c.settled) break;
      ready.push(c);
    }
    if (ready.length === 0) return { numbered: 0, deliveries: 0, busy: false };

    const perTenant = new Map<string, string[]>();
    for (const r of ready) perTenant.set(r.tenant_id, [...(perTenant.get(r.tenant_id) ?? []), String(r.id)]);
    const tenants = [...perTenant.keys()];
    const advanced = await raw<{ tenant_id: string; last_seq: string }>(trx, ADVANCE, [tenants, tenants.map((t) => perTenant.get(t)!.length)]);
    const lastOf = new Map(advanced.map((a) => [a.tenant_id, BigInt(a.last_seq)]));

    const numbered = { tenant: [] as string[], id: [] as string[], seq: [] as string[] };
    for (const [tenant, ids] of perTenant) {
      const last = lastOf.get(tenant);
      if (last === undefined) continue;
      const first = last - BigInt(ids.length) + 1n;
      ids.forEach((id, i) => {
        numbered.tenant.push(tenant);
        numbered.id.push(id);
        numbered.seq.push(String(first + BigInt(i)));
      });
    }
    // Events of a tenant deleted since they were written: nobody can read them, and they must not hold back the rest.
    const orphans = tenants.filter((t) => !lastOf.has(t));
    if (orphans.length > 0) await sql`delete from events where seq is null and tenant_id = any(${orphans}::uuid[])`.execute(trx);
    if (numbered.id.length === 0) return { numbered: 0, deliveries: 0, busy: false };
    await raw(trx, NUMBER, [numbered.tenant, numbered.id, numbered.seq]);

    const deliveries = await raw<{ endpoint_id: string; tenant_id: string; subject: string }>(trx, FAN_OUT, [numbered.tenant, numbered.id]);
    if (queue && deliveries.length > 0) {
      const jobs = new Map<string, WebhookJobData>();
      for (const d of deliveries) jobs.set(`${d.endpoint_id}/${d.tenant_id}/${d.subject}`, { endpointId: d.endpoint_id, tenantId: d.tenant_id, subject: d.subject });
      await queue.enqueue(trx, [...jobs.values()]);
    }
    return { numbered: numbered.id.length, deliveries: deliveries.length, busy: false };
  });
}

/** Whether the outbox holds events not yet numbered: the idle poll, one index probe. */
export async function hasUnsequencedEvents(db: Kysely<Database>): Promise<boolean> {
  const rows = await raw<{ waiting: boolean }>(db, `select exists (select 1 from events where seq is null) as waiting`);
  return rows[0]?.waiting === true;
}
