import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Kysely } from 'kysely';
import type { Auth0Gateway } from './auth0/gateway.js';
import { isDatabaseUnavailable } from './db/errors.js';
import type { Database } from './db/schema.js';
import { deliveryCounts } from './db/webhooks.js';
import { sql } from 'kysely';
import { rateFamily } from './okta/rate-budget.js';

/** The Prometheus series Provisio exports at `/metrics` (prom-client). */
export interface Metrics {
  readonly registry: Registry;
  /** Counts one SCIM request in the aggregate series and in its tenant's outcome counter. */
  readonly scimRequest: (tenant: string, resource: string, method: string, status: number, seconds: number) => void;
  /** Requests refused with 429: `tenant` is `unauthenticated` for `auth_failures` (the URL's name is the caller's). */
  readonly scimThrottled: Counter<'tenant' | 'reason'>;
  readonly syncLag: Histogram;
  readonly syncJobs: Counter<'tenant' | 'outcome'>;
  readonly adminRequests: Counter<'route' | 'method' | 'status'>;
  /** SCIM request audit trail records: `written` (stored) or `dropped` (buffer full, or their batch failed). */
  readonly scimAuditRecords: Counter<'outcome'>;
  /** Where the audit buffer gauge reads how many records wait to be written (the app's recorder). */
  readonly observeScimAuditBuffer: (source: () => number) => void;
  /** Users' sync runs and login decisions for their timeline: `written` or `dropped`, by `kind` (`sync`, `login`). */
  readonly userHistoryRecords: Counter<'kind' | 'outcome'>;
  /** Webhook delivery attempts by endpoint id and outcome: `delivered`, `retry` (failed, tried again later), `failed` (given up). */
  readonly webhookAttempts: Counter<'endpoint' | 'outcome'>;
  /** Time from the change to its delivery (the receiver's 2xx), by endpoint id. */
  readonly webhookLatency: Histogram<'endpoint'>;
  /** Okta mirror jobs finished, by tenant and outcome (mirrored, deactivated, deleted, none, failed…). */
  readonly oktaJobs: Counter<'tenant' | 'outcome'>;
  /** Counts one Okta request by endpoint family and status (0: no answer). */
  readonly oktaCall: (call: { method: string; url: string; status: number }) => void;
}

export interface MetricsSources {
  readonly db: Kysely<Database>;
  /** Absent when the sync is disabled. */
  readonly gateway?: Auth0Gateway;
}

/**
 * Builds the registry. Request counters are updated on the hot path; queue depth and age, Auth0 call
 * counts and the remaining rate budget are read at scrape time, so they cost nothing between scrapes.
 */
export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'provisio_' });
  // Cardinality (docs/operations.md#metrics): series whose count grows with the tenants are counters
  // with a handful of values per tenant; resource × method × status detail and latency histograms are
  // aggregated over tenants, so 10,000 tenants do not make a scrape megabytes long.
  const scimRequests = new Counter({
    name: 'provisio_scim_requests_total',
    help: 'SCIM requests by resource, method and response status (all tenants)',
    labelNames: ['resource', 'method', 'status'] as const,
    registers: [registry],
  });
  const scimTenantRequests = new Counter({
    name: 'provisio_scim_tenant_requests_total',
    help: 'SCIM requests per tenant by outcome: ok (1xx-3xx), client_error (4xx), server_error (5xx)',
    labelNames: ['tenant', 'outcome'] as const,
    registers: [registry],
  });
  const scimDuration = new Histogram({
    name: 'provisio_scim_request_duration_seconds',
    help: 'SCIM request latency',
    labelNames: ['resource', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const scimThrottled = new Counter({
    name: 'provisio_scim_throttled_total',
    help: 'SCIM requests refused with 429, by tenant and reason (tenant, token, auth_failures)',
    labelNames: ['tenant', 'reason'] as const,
    registers: [registry],
  });
  const syncLag = new Histogram({
    name: 'provisio_sync_lag_seconds',
    help: 'Time from a directory change to its application in Auth0 (all tenants; per tenant: provisio_sync_oldest_pending_seconds)',
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  });
  const syncJobs = new Counter({
    name: 'provisio_sync_jobs_total',
    help: 'Sync jobs finished, by outcome (synced, awaiting-login, held, deleted, failed…)',
    labelNames: ['tenant', 'outcome'] as const,
    registers: [registry],
  });
  const adminRequests = new Counter({
    name: 'provisio_admin_requests_total',
    help: 'Admin API requests by route pattern, method and status (401/403 = refused credentials)',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const scimAuditRecords = new Counter({
    name: 'provisio_scim_audit_records_total',
    help: 'SCIM request audit records by outcome: written (stored) or dropped (buffer full or write failed)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const userHistoryRecords = new Counter({
    name: 'provisio_user_history_records_total',
    help: 'Sync runs and login decisions recorded for users\' timelines, by kind (sync, login) and outcome: written, or dropped (buffer full or write failed)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  let scimAuditBuffered: () => number = () => 0;
  new Gauge({
    name: 'provisio_scim_audit_buffered',
    help: 'SCIM request audit records waiting in memory to be written',
    registers: [registry],
    collect() {
      this.set(scimAuditBuffered());
    },
  });
  new Gauge({
    name: 'provisio_sync_pending_users',
    help: 'Directory users whose Auth0 state is not applied yet, per tenant',
    labelNames: ['tenant'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of await unlessUnavailable(() => pendingByTenant(sources.db), [])) this.set({ tenant: row.tenant }, row.pending);
    },
  });
  new Gauge({
    name: 'provisio_sync_oldest_pending_seconds',
    help: 'Age of the oldest unapplied directory change, per tenant (queue age)',
    labelNames: ['tenant'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of await unlessUnavailable(() => pendingByTenant(sources.db), [])) this.set({ tenant: row.tenant }, row.oldest);
    },
  });
  const { gateway } = sources;
  if (gateway) {
    new Gauge({
      name: 'provisio_auth0_calls',
      help: 'Auth0 Management API calls since start, by operation and status (429 = rate limited)',
      labelNames: ['operation', 'status'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const row of gateway.stats.entries()) this.set({ operation: row.operation, status: String(row.outcome) }, row.count);
      },
    });
    new Gauge({
      name: 'provisio_auth0_rate_budget_remaining',
      help: 'Calls left in each Auth0 rate-limit bucket as the budget sees it',
      labelNames: ['bucket', 'scope'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const b of gateway.budget.snapshot().buckets) if (b.remaining !== undefined) this.set({ bucket: b.bucket, scope: b.scope }, b.remaining);
      },
    });
  }
  // Label children cached by key: prom-client hashes the label object on every `inc`/`observe` otherwise.
  const requestChildren = new Map<string, { count: ReturnType<typeof scimRequests.labels>; duration: ReturnType<typeof scimDuration.labels> }>();
  const tenantChildren = new Map<string, ReturnType<typeof scimTenantRequests.labels>>();
  const scimRequest = (tenant: string, resource: string, method: string, status: number, seconds: number) => {
    const key = `${resource} ${method} ${status}`;
    let child = requestChildren.get(key);
    if (!child) {
      child = { count: scimRequests.labels(resource, method, String(status)), duration: scimDuration.labels(resource, method) };
      requestChildren.set(key, child);
    }
    child.count.inc();
    child.duration.observe(seconds);
    const outcome = status >= 500 ? 'server_error' : status >= 400 ? 'client_error' : 'ok';
    const tenantKey = `${outcome} ${tenant}`;
    let tenantChild = tenantChildren.get(tenantKey);
    if (!tenantChild) {
      tenantChild = scimTenantRequests.labels(tenant, outcome);
      tenantChildren.set(tenantKey, tenantChild);
    }
    tenantChild.inc();
  };
  const observeScimAuditBuffer = (source: () => number) => {
    scimAuditBuffered = source;
  };
  // Webhook series are by endpoint: an operator has a handful of receivers, not one per tenant.
  const webhookAttempts = new Counter({
    name: 'provisio_webhook_attempts_total',
    help: 'Webhook delivery attempts by endpoint and outcome (delivered, retry, failed = given up)',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [registry],
  });
  const webhookLatency = new Histogram({
    name: 'provisio_webhook_delivery_latency_seconds',
    help: 'Time from a change to its delivery to the endpoint (the receiver answered 2xx)',
    labelNames: ['endpoint'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400],
    registers: [registry],
  });
  new Gauge({
    name: 'provisio_webhook_deliveries',
    help: 'Webhook deliveries not delivered, by endpoint and state (pending: owed and being tried; failed: given up, redeliverable)',
    labelNames: ['endpoint', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [endpoint, counts] of await unlessUnavailable(() => deliveryCounts(sources.db), new Map<string, { pending: number; failed: number }>())) {
        this.set({ endpoint, state: 'pending' }, counts.pending);
        this.set({ endpoint, state: 'failed' }, counts.failed);
      }
    },
  });
  // The Okta sink, beside the Auth0 one (provisio_sync_jobs_total, provisio_auth0_calls).
  const oktaJobs = new Counter({
    name: 'provisio_okta_mirror_jobs_total',
    help: 'Okta mirror jobs finished, by outcome (mirrored, deactivated, deleted, none, unbound, failed)',
    labelNames: ['tenant', 'outcome'] as const,
    registers: [registry],
  });
  const oktaCalls = new Counter({
    name: 'provisio_okta_calls_total',
    help: 'Okta Management API requests, by endpoint family and status (429 = rate limited, 0 = no answer)',
    labelNames: ['family', 'status'] as const,
    registers: [registry],
  });
  const oktaCall = (call: { method: string; url: string; status: number }) => oktaCalls.inc({ family: rateFamily(call.method, call.url), status: String(call.status) });
  new Gauge({
    name: 'provisio_okta_mirror_users',
    help: 'Directory users whose Okta mirror is pending or failed, per tenant',
    labelNames: ['tenant', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of await unlessUnavailable(() => mirrorBacklog(sources.db), [])) this.set({ tenant: row.tenant, state: row.state }, row.n);
    },
  });
  return { registry, scimRequest, scimThrottled, syncLag, syncJobs, adminRequests, scimAuditRecords, observeScimAuditBuffer, userHistoryRecords, webhookAttempts, webhookLatency, oktaJobs, oktaCall };
}

/** While the database is unavailable the gauges are left empty: the scrape still answers (process and 503 counts). */
async function unlessUnavailable<T>(read: () => Promise<T>, empty: T): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (isDatabaseUnavailable(err)) return empty;
    throw err;
  }
}

async function pendingByTenant(db: Kysely<Database>): Promise<{ tenant: string; pending: number; oldest: number }[]> {
  const { rows } = await sql<{ tenant: string; pending: string; oldest: number | null }>`
    select t.name as tenant, count(*) as pending, extract(epoch from (now() - min(s.changed_at)))::float8 as oldest
    from user_sync s join tenants t on t.id = s.tenant_id where s.status = 'pending' group by t.name`.execute(db);
  return rows.map((r) => ({ tenant: r.tenant, pending: Number(r.pending), oldest: Math.max(0, r.oldest ?? 0) }));
}

/** Pending and failed Okta mirrors per tenant (the index okta_mirror_status). */
async function mirrorBacklog(db: Kysely<Database>): Promise<{ tenant: string; state: string; n: number }[]> {
  const { rows } = await sql<{ tenant: string; state: string; n: string }>`select tenant_id as tenant, status as state, count(*) as n
    from okta_mirror where status in ('pending', 'failed') group by 1, 2`.execute(db);
  return rows.map((r) => ({ tenant: r.tenant, state: r.state, n: Number(r.n) }));
}
