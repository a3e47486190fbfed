import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A tenant at a glance, as the operator's tenant list shows it. */
export interface TenantHealth {
  readonly id: string;
  readonly name: string;
  readonly displayName: string;
  readonly bound: boolean;
  readonly users: number;
  readonly groups: number;
  /** Users by sync status (`synced`, `pending`, `failed`, `awaiting-login`, …). */
  readonly sync: Record<string, number>;
  /** Deprovisions held by the mass-deprovisioning guard. */
  readonly held: number;
  /** The oldest change still waiting for Auth0: how far behind the sync is. */
  readonly oldestPendingAt: Date | null;
  readonly requests: number;
  readonly errors: number;
  readonly lastRequestAt: Date | null;
}

export interface TenantHealthPage {
  readonly tenants: TenantHealth[];
  /** The last name of this page when more may follow (`after` of the next request). */
  readonly next: string | null;
}

/**
 * Health of a page of tenants (by name) in five statements, whatever the page size: one per kind of fact,
 * each grouped by tenant, instead of a round of requests per tenant. The request counts use the
 * (tenant_id, id) index per tenant, bounded below by the newest row before the window, as the tenant's
 * own chart does (scim-requests.ts).
 */
export async function tenantHealthPage(db: Kysely<Database>, options: { after?: string; limit: number; since: Date }): Promise<TenantHealthPage> {
  const page = await db.selectFrom('tenants').select(['id', 'name', 'display_name'])
    .$if(options.after !== undefined, (q) => q.where('name', '>', options.after!))
    .orderBy('name').limit(options.limit + 1).execute();
  const tenants = page.slice(0, options.limit);
  const ids = tenants.map((t) => t.id);
  if (ids.length === 0) return { tenants: [], next: null };
  const [counts, sync, holds, bound, requests] = await Promise.all([
    sql<{ tenant_id: string; resource: string; n: string }>`
      select tenant_id, resource, coalesce(sum(n), 0) as n from resource_counts where tenant_id = any(${ids}::uuid[]) group by 1, 2`.execute(db),
    sql<{ tenant_id: string; status: string; n: string; oldest: Date | null }>`
      select tenant_id, status, count(*) as n, min(changed_at) filter (where status = 'pending') as oldest
      from user_sync where tenant_id = any(${ids}::uuid[]) group by 1, 2`.execute(db),
    sql<{ tenant_id: string; n: string }>`select tenant_id, count(*) as n from sync_holds where tenant_id = any(${ids}::uuid[]) group by 1`.execute(db),
    sql<{ tenant_id: string }>`select tenant_id from tenant_sync_config where tenant_id = any(${ids}::uuid[])`.execute(db),
    sql<{ tenant_id: string; requests: string | null; errors: string | null; last_at: Date | null }>`
      select t.id as tenant_id, w.requests, w.errors, l.at as last_at
      from unnest(${ids}::uuid[]) as t(id)
      cross join lateral (
        select sum(requests) as requests, sum(requests) filter (where status >= 400) as errors from scim_requests r
        where r.tenant_id = t.id and r.at >= ${options.since}
          and r.id > coalesce((select b.id from scim_requests b where b.tenant_id = t.id and b.at < ${options.since} order by b.id desc limit 1), 0)
      ) w
      left join lateral (select at from scim_requests r where r.tenant_id = t.id order by r.id desc limit 1) l on true`.execute(db),
  ]);
  const boundIds = new Set(bound.rows.map((r) => r.tenant_id));
  const byTenant = <T extends { tenant_id: string }>(rows: readonly T[]): Map<string, T[]> => {
    const map = new Map<string, T[]>();
    for (const row of rows) map.set(row.tenant_id, [...(map.get(row.tenant_id) ?? []), row]);
    return map;
  };
  const countsOf = byTenant(counts.rows);
  const syncOf = byTenant(sync.rows);
  const holdsOf = new Map(holds.rows.map((h) => [h.tenant_id, Number(h.n)]));
  const trafficOf = new Map(requests.rows.map((q) => [q.tenant_id, q]));
  return {
    tenants: tenants.map((t) => {
      const count = (resource: string) => Number(countsOf.get(t.id)?.find((c) => c.resource === resource)?.n ?? 0);
      const statuses = syncOf.get(t.id) ?? [];
      const traffic = trafficOf.get(t.id);
      const oldest = statuses.find((s) => s.status === 'pending')?.oldest;
      return {
        id: t.id,
        name: t.name,
        displayName: t.display_name,
        bound: boundIds.has(t.id),
        users: count('users'),
        groups: count('groups'),
        sync: Object.fromEntries(statuses.map((s) => [s.status, Number(s.n)])),
        held: holdsOf.get(t.id) ?? 0,
        oldestPendingAt: oldest ? new Date(oldest) : null,
        requests: Number(traffic?.requests ?? 0),
        errors: Number(traffic?.errors ?? 0),
        lastRequestAt: traffic?.last_at ? new Date(traffic.last_at) : null,
      };
    }),
    next: page.length > options.limit ? (tenants[tenants.length - 1]?.name ?? null) : null,
  };
}
