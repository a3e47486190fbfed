/**
 * The SCIM request audit trail: every SCIM request of a tenant (time, token, source address, method,
 * path, status, latency, dialect, the resource touched, the error, a redacted summary of a write body),
 * buffered in memory and written in batches off the request path, pruned after the retention period.
 * Read through `/v1/admin/tenants/<tenant>/scim-requests` (src/admin/routes/scim-requests.ts).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { BatchedWriter } from '../db/batched-writer.js';
import { claimLease, releaseLease } from '../db/leases.js';
import type { Database } from '../db/schema.js';
import { insertScimRequests, pruneScimRequests, type NewScimRequest } from '../db/scim-requests.js';
import { pruneUserHistory } from '../db/user-history.js';
import { storableText } from '../http/text-hygiene.js';
import { redactUrl } from '../http/url-credentials.js';
import type { Metrics } from '../metrics.js';
import { summarizeWrite } from './audit-summary.js';
import { resolveDialect } from './compat/dialect.js';
import type { ScimError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The error the SCIM error handler answered with, for the audit trail. */
    scimError?: ScimError;
    /** The id of the resource a `POST` created, for the audit trail. */
    scimResourceId?: string;
  }
  interface FastifyInstance {
    /** The SCIM request recorder; null with `SCIM_AUDIT=off`. Tests `flush()` it before reading the trail. */
    scimAudit: ScimRequestRecorder | null;
  }
}

/** The part of a pino logger the recorder and the pruner use. */
interface AuditLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const PATH_MAX = 512;
const DETAIL_MAX = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What a tenant name can be (src/admin/tenants.ts): anything else in the URL is no tenant and is not recorded. */
const TENANT_NAME = /^[a-z0-9-]{1,63}$/;
const RESOURCE_TYPES: Record<string, string> = {
  Users: 'User', Groups: 'Group', Bulk: 'Bulk', Schemas: 'Schemas', ResourceTypes: 'ResourceTypes', ServiceProviderConfig: 'ServiceProviderConfig',
};
const ROUTE = /^\/scim\/v2\/:tenant\/([^/]*)/;


/**
 * What the trail keeps of one SCIM request, or undefined for one it does not keep. An authenticated
 * request is kept under its token's tenant. One refused before authentication (401 wrong or missing
 * token, 429 too many failures, 400 credentials in the URL) has no tenant id yet: it is kept under the
 * name in its URL, which the batch insert resolves (src/db/scim-requests.ts), so rows for names that are
 * no tenant vanish there, off the request path; the wrong-token 401 is what the live panel must show.
 * Unauthenticated discovery reads that succeed (RFC 7643 §5: anybody may) are not kept.
 */
export function scimRequestEntry(request: FastifyRequest, reply: FastifyReply): NewScimRequest | undefined {
  const principal = request.scimPrincipal;
  const status = reply.statusCode;
  let tenantName: string | null = null;
  if (!principal) {
    const name = (request.params as { tenant?: unknown } | undefined)?.tenant;
    if (status < 400 || typeof name !== 'string' || !TENANT_NAME.test(name)) return undefined;
    tenantName = name;
  }
  const route = request.routeOptions.url ?? '';
  const segment = ROUTE.exec(route)?.[1] ?? '';
  const resourceType = route.endsWith('/.search') ? null : (RESOURCE_TYPES[segment] ?? null);
  const id = (request.params as { id?: unknown } | undefined)?.id;
  const resourceId = request.scimResourceId ?? (typeof id === 'string' && UUID.test(id) ? id : null);
  const error = request.scimError;
  const writes = request.method === 'POST' || request.method === 'PUT' || request.method === 'PATCH';
  const summary = writes ? summarizeWrite(resourceType, request.method, request.body) : undefined;
  const userAgent = request.headers['user-agent'];
  // Credentials in a query string are refused before authentication (src/http/url-credentials.ts), and
  // redacted here as well, so the stored path never holds one.
  const url = request.url.includes('?') ? redactUrl(request.url) : request.url;
  return {
    tenantId: principal?.tenantId ?? null,
    tenantName,
    at: new Date(),
    tokenId: principal?.tokenId ?? null,
    sourceIp: request.ip ?? null,
    method: request.method,
    path: storableText(url, PATH_MAX),
    status,
    latencyMs: reply.elapsedTime,
    // No object spread here: as compiled it costs a microsecond per request.
    dialect: resolveDialect(principal?.dialect ?? 'auto', { userAgent: userAgent ?? '', query: request.query as Record<string, unknown>, body: request.body }),
    resourceType,
    resourceId,
    scimType: error?.scimType ?? null,
    errorDetail: error ? storableText(error.message, DETAIL_MAX) : null,
    summary: summary === undefined ? null : storableText(summary, 500),
  };
}

export interface ScimRequestRecorderOptions {
  readonly db: Kysely<Database>;
  readonly logger: AuditLogger;
  readonly metrics?: Metrics;
  /** A batch is written at the latest this long after its first record (default 250 ms). */
  readonly flushMs?: number;
  /** Records per insert statement; a full batch is written at once (default 500). */
  readonly batchSize?: number;
  /** Records held in memory at most; beyond, new ones are dropped and counted (default 10,000). */
  readonly capacity?: number;
  /**
   * Successful reads listed one by one per tenant and second (`SCIM_AUDIT_READS_PER_SECOND`, default 20); the
   * rest are counted, one row per tenant and batch. An IdP reads a few times a second at most; a client that
   * reads thousands of times a second would otherwise make the trail cost a share of every request.
   */
  readonly readsPerSecond?: number;
}

/** A read that succeeded: listed within the per-second budget, else counted. Writes and refusals are always listed. */
function isSuccessfulRead(method: string | null, status: number | null, path: string | null): boolean {
  return (status ?? 500) < 400 && (method === 'GET' || method === 'HEAD' || (method === 'POST' && (path ?? '').includes('/.search')));
}

/**
 * The onResponse hook's work: a successful read over its tenant's listing budget is only counted, before
 * anything is built for it (dialect, path, summary); anything else is recorded as `scimRequestEntry` says.
 */
export function recordScimRequest(recorder: ScimRequestRecorder, request: FastifyRequest, reply: FastifyReply): void {
  const tenantId = request.scimPrincipal?.tenantId;
  if (tenantId !== undefined && isSuccessfulRead(request.method, reply.statusCode, request.url) && recorder.countIfOverReadBudget(tenantId)) return;
  const entry = scimRequestEntry(request, reply);
  if (entry) recorder.record(entry);
}

/**
 * The SCIM request audit trail's writer: records go through a `BatchedWriter` (batches off the request
 * path, bounded memory, drops counted in `provisio_scim_audit_records_total{outcome="dropped"}`), and
 * successful reads beyond a tenant's per-second listing budget are only counted, one row per tenant and batch.
 */
export class ScimRequestRecorder {
  private readonly writer: BatchedWriter<NewScimRequest>;
  private readonly readsPerSecond: number;
  /** Successful reads listed this second, per tenant (cleared every second, so it holds active tenants only). */
  private readsListed = new Map<string, number>();
  private readsSecond = 0;
  /** Successful reads over the budget, per tenant, waiting to be written as one counting row each. */
  private readsCounted = new Map<string, number>();

  constructor(private readonly options: ScimRequestRecorderOptions) {
    this.readsPerSecond = options.readsPerSecond ?? 20;
    const { metrics } = options;
    this.writer = new BatchedWriter<NewScimRequest>({
      insert: (batch) => insertScimRequests(options.db, batch),
      logger: options.logger,
      what: 'SCIM request audit records',
      flushMs: options.flushMs ?? 250,
      batchSize: options.batchSize ?? 500,
      capacity: options.capacity ?? 10_000,
      written: (_batch, stored) => metrics?.scimAuditRecords.inc({ outcome: 'written' }, stored),
      dropped: (records) => metrics?.scimAuditRecords.inc({ outcome: 'dropped' }, typeof records === 'number' ? records : records.length),
      beforeFlush: () => this.bufferCountedReads(),
      deferred: () => this.readsCounted.size > 0,
    });
    metrics?.observeScimAuditBuffer(() => this.writer.buffered);
  }

  /** Queues one record; drops it (counted) when the buffer is full or the recorder closed. */
  record(entry: NewScimRequest): void {
    if (!this.writer.hasRoom) return this.writer.drop([entry]);
    if (entry.tenantId !== null && isSuccessfulRead(entry.method, entry.status, entry.path)) {
      if (this.countIfOverReadBudget(entry.tenantId)) return;
      this.readsListed.set(entry.tenantId, (this.readsListed.get(entry.tenantId) ?? 0) + 1);
    }
    this.writer.push(entry);
  }

  /**
   * For a successful read of this tenant: when this second's listing budget is spent, counts the read (it
   * becomes part of one counting row) and answers true; otherwise answers false and `record` lists it.
   */
  countIfOverReadBudget(tenantId: string): boolean {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.readsSecond) {
      this.readsSecond = second;
      this.readsListed = new Map();
    }
    if ((this.readsListed.get(tenantId) ?? 0) < this.readsPerSecond) return false;
    if (this.writer.isClosed) {
      this.writer.drop(1);
      return true;
    }
    this.readsCounted.set(tenantId, (this.readsCounted.get(tenantId) ?? 0) + 1);
    this.writer.schedule();
    return true;
  }

  /** The counted reads as one row per tenant, into the buffer (they take one place each, not one per read). */
  private bufferCountedReads(): void {
    if (this.readsCounted.size === 0) return;
    const at = new Date();
    const counted = this.readsCounted;
    this.readsCounted = new Map();
    for (const [tenantId, requests] of counted) {
      if (!this.writer.hasRoom) {
        this.writer.drop(requests);
        continue;
      }
      this.writer.push({
        tenantId, tenantName: null, at, tokenId: null, sourceIp: null, method: 'GET', path: null, status: 200, latencyMs: null, dialect: null,
        resourceType: null, resourceId: null, scimType: null, errorDetail: null, requests,
        summary: `${requests} more successful read${requests === 1 ? '' : 's'}, counted but not listed (over SCIM_AUDIT_READS_PER_SECOND=${this.readsPerSecond})`,
      });
    }
  }

  /** Records written, dropped, and waiting, since start. */
  counts(): { written: number; dropped: number; buffered: number } {
    return this.writer.counts();
  }

  /** Writes everything recorded so far (tests, shutdown); resolves when the buffer was empty once. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Stops taking records and writes what is left (the app's `onClose`). */
  close(): Promise<void> {
    return this.writer.close();
  }
}

export interface ScimRequestPrunerOptions {
  readonly db: Kysely<Database>;
  readonly logger: AuditLogger;
  /** `SCIM_AUDIT_RETENTION_DAYS`. */
  readonly retentionDays: number;
  /** Between runs (default an hour). */
  readonly intervalMs?: number;
  /** Before the first run after start (default a minute, so it stays out of the way of startup). */
  readonly firstDelayMs?: number;
  readonly now?: () => number;
  /** Who this process is in the `leases` table (default: host, pid and a random suffix). */
  readonly holder?: string;
}

/** The lease (src/db/leases.ts) whose holder prunes, so replicas do not all run the same deletes. */
export const PRUNE_LEASE = 'scim-requests-prune';

/**
 * Deletes audit records older than the retention period, hourly, in the replica holding the
 * `scim-requests-prune` lease; users' sync runs and login decisions (src/db/user-history.ts), which the
 * user timeline shows beside these requests, are kept as long and go in the same run. The lease outlasts an interval by half, so its holder keeps it while it
 * runs, and another replica takes over within 1.5 intervals after it stops. Errors are logged, never thrown.
 */
export class ScimRequestPruner {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<unknown> | undefined;
  private stopped = false;
  private held = false;
  private readonly holder: string;
  private readonly intervalMs: number;

  constructor(private readonly options: ScimRequestPrunerOptions) {
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.intervalMs = options.intervalMs ?? 3_600_000;
  }

  start(): void {
    if (!this.stopped && !this.timer) this.schedule(this.options.firstDelayMs ?? 60_000);
  }

  /** Prunes once if this process holds (or takes) the lease: the rows deleted (both tables), or undefined when another holds it. */
  async runOnce(): Promise<number | undefined> {
    const { db, retentionDays } = this.options;
    const lease = await claimLease(db, PRUNE_LEASE, this.holder, Math.ceil((this.intervalMs * 1.5) / 1000));
    this.held = lease.holder === this.holder;
    if (!this.held) return undefined;
    const cutoff = new Date((this.options.now ?? Date.now)() - retentionDays * 86_400_000);
    const deleted = await pruneScimRequests(db, cutoff, 10_000, () => this.stopped);
    if (deleted > 0) this.options.logger.info({ deleted, cutoff: cutoff.toISOString() }, 'pruned SCIM request audit records past SCIM_AUDIT_RETENTION_DAYS');
    const history = this.stopped ? 0 : await pruneUserHistory(db, cutoff, 10_000, () => this.stopped);
    if (history > 0) this.options.logger.info({ deleted: history, cutoff: cutoff.toISOString() }, 'pruned user history (sync runs, login decisions) past SCIM_AUDIT_RETENTION_DAYS');
    return deleted + history;
  }

  /** Stops the schedule, waits for a run in progress and gives the lease up. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
    if (this.held) await releaseLease(this.options.db, PRUNE_LEASE, this.holder).catch(() => undefined);
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.current = this.runOnce().catch((err: unknown) => {
        this.options.logger.warn({ err }, 'pruning SCIM request audit records failed; trying again at the next interval');
      }).finally(() => {
        this.current = undefined;
        if (!this.stopped) this.schedule(this.intervalMs);
      });
    }, ms);
    this.timer.unref();
  }
}
