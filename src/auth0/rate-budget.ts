/**
 * Client-side rate budget for one Auth0 tenant (research/auth0.md §2). Auth0 meters the Management API with
 * token buckets — burst = bucket size, sustained = refill — a global bucket first (Free, Enterprise), then the
 * endpoint's bucket (Essentials/Professional/B2B: "all other endpoints" share one). We mirror those buckets
 * locally so calls are paced *before* Auth0 answers 429, and we share them fairly between Provisio tenants:
 * grants rotate round-robin over the fairness keys that are waiting, so one tenant's 50,000 queued calls
 * cost another tenant's single call at most one grant per other waiting tenant.
 *
 * The budget is per process, and only one replica runs the sync worker (src/sync/lease.ts). Logins and admin
 * actions on other replicas keep their own mirror, and they converge because
 * Auth0's `x-ratelimit-remaining` (fed to `observe`) reports the tenant-wide bucket: we never believe we
 * have more tokens than Auth0 last said, and a 429 pauses the lane until `x-ratelimit-reset`.
 */
import type { HeaderSource } from './errors.js';

/** Auth0 plans with documented Management API limits; `off` = no local limits (emulator, tests). */
export type Auth0Plan = 'free' | 'essentials' | 'enterprise' | 'off';

/** Auth0's documented endpoint buckets (§2), plus `other` and the inbound SCIM per-connection bucket. */
export type Auth0Bucket =
  | 'read_orgs' | 'read_org_by_id' | 'read_org_by_name' | 'write_orgs'
  | 'read_org_members' | 'write_org_members' | 'read_org_member_roles' | 'write_org_member_roles'
  | 'org_invitations' | 'read_org_connections' | 'write_org_connections'
  | 'read_users' | 'write_users' | 'read_user_orgs' | 'read_connections' | 'other' | 'scim';

/** Bucket size and sustained refill rate. */
export interface BucketRate {
  burst: number;
  perSecond: number;
}

/** A plan's buckets: `global` meters every Management call, `scimTenant` every inbound SCIM call. */
export interface PlanRates {
  global?: BucketRate;
  endpoints: Partial<Record<Auth0Bucket, BucketRate>>;
  scimTenant?: BucketRate;
}

const perMin = (burst: number, perMinute: number): BucketRate => ({ burst, perSecond: perMinute / 60 });
const SCIM = { scim: { burst: 25, perSecond: 25 } }; // 25 rps per connection, 100 tenant-wide (§2, §5)

/** docs:/…/rate-limit-configurations/{free-public, essentials-professional-b2b, enterprise-public} via §2. */
export const PLAN_RATES: Readonly<Record<Exclude<Auth0Plan, 'off'>, PlanRates>> = {
  free: {
    global: { burst: 2, perSecond: 2 },
    endpoints: { scim: { burst: 5, perSecond: 5 } },
    scimTenant: { burst: 5, perSecond: 5 },
  },
  essentials: {
    endpoints: {
      read_orgs: perMin(5, 50), read_org_by_id: perMin(20, 200), read_org_by_name: perMin(10, 100),
      write_orgs: perMin(5, 25), read_org_members: perMin(40, 500), write_org_members: perMin(20, 200),
      read_org_member_roles: perMin(20, 200), write_org_member_roles: perMin(20, 200),
      read_org_connections: perMin(5, 50), write_org_connections: perMin(5, 25),
      read_users: perMin(40, 500), write_users: perMin(20, 200), read_connections: perMin(5, 50),
      other: perMin(10, 150), ...SCIM,
    },
    scimTenant: { burst: 100, perSecond: 100 },
  },
  enterprise: {
    // Public-cloud production; non-production tenants get 10 / 2 rps (§2) — pass `rates` to model them.
    global: { burst: 50, perSecond: 16 },
    endpoints: {
      read_orgs: perMin(10, 100), read_org_by_id: perMin(10, 100), read_user_orgs: perMin(40, 500),
      read_org_by_name: perMin(20, 200), write_orgs: perMin(5, 150), read_org_members: perMin(40, 500),
      write_org_members: perMin(20, 200), org_invitations: perMin(20, 200),
      read_org_member_roles: perMin(20, 200), write_org_member_roles: perMin(20, 200),
      read_org_connections: perMin(10, 100), write_org_connections: perMin(5, 150), ...SCIM,
    },
    scimTenant: { burst: 100, perSecond: 100 },
  },
};

/** Injected time source: `now()` in epoch ms and a cancellable one-shot timer. */
export interface BudgetClock {
  now(): number;
  setTimer(fn: () => void, ms: number): () => void;
}

/** Wall-clock time and `setTimeout`. */
export const systemClock: BudgetClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/** Options of `RateBudget`. */
export interface RateBudgetOptions {
  plan: Auth0Plan;
  clock?: BudgetClock;
  /** Per-bucket overrides (`null` removes a bucket): non-prod Enterprise, negotiated limits, tests. */
  rates?: Partial<Record<Auth0Bucket | 'global' | 'scimTenant', BucketRate | null>>;
}

/** One bucket of the metrics snapshot. */
export interface BudgetBucketSnapshot {
  bucket: Auth0Bucket;
  scope: string;
  /** Tokens we believe are left in the bucket Auth0 reports for this lane (`undefined`: unmetered). */
  remaining: number | undefined;
  limit: number | undefined;
  /** Epoch ms until which a 429 paused the lane (0: not paused). */
  pausedUntil: number;
  waiting: number;
}

/** Metrics view of the budget. */
export interface BudgetSnapshot {
  plan: Auth0Plan;
  buckets: BudgetBucketSnapshot[];
  waitingByKey: Record<string, number>;
  granted: number;
  throttled: number;
}

const EPSILON = 1e-9;
/** A 429 without a usable reset still pauses the lane this long; a far-future reset is capped (§3.2: SDK caps at 60 s). */
const MIN_PAUSE_MS = 1_000;
const MAX_PAUSE_MS = 60_000;

class TokenBucket {
  tokens: number;
  private updated: number;
  constructor(readonly rate: BucketRate, now: number) {
    this.tokens = rate.burst;
    this.updated = now;
  }
  refill(now: number): void {
    if (now > this.updated) {
      this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.updated) / 1000) * this.rate.perSecond);
      this.updated = now;
    }
  }
  /** Epoch ms at which one whole token is available. */
  readyAt(now: number): number {
    this.refill(now);
    if (this.tokens >= 1 - EPSILON) return now;
    if (this.rate.perSecond <= 0) return Number.POSITIVE_INFINITY;
    return now + Math.ceil(((1 - this.tokens) / this.rate.perSecond) * 1000);
  }
}

interface Waiter {
  seq: number;
  resolve: () => void;
}

/** FIFO with O(1) shift (a tenant may queue tens of thousands of calls). */
class Queue<T> {
  private items: T[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    const item = this.items[this.head];
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/** A bucket (per scope, e.g. SCIM connection) and the token buckets a call in it draws from. */
interface Lane {
  bucket: Auth0Bucket;
  scope: string;
  chain: TokenBucket[];
  /** The bucket Auth0's headers describe: the endpoint bucket if it has one, else the global one. */
  reported: TokenBucket | undefined;
  pausedUntil: number;
  lastLimit: number | undefined;
  lastRemaining: number | undefined;
  waiting: number;
}

/** Token buckets mirroring one Auth0 tenant's limits, granting calls fairly between fairness keys. */
export class RateBudget {
  readonly plan: Auth0Plan;
  private readonly clock: BudgetClock;
  private readonly rates: PlanRates;
  private readonly global: TokenBucket | undefined;
  private readonly scimTenant: TokenBucket | undefined;
  private readonly lanes = new Map<string, Lane>();
  /** fairness key → lane id → waiters; a key is in `ring` while it has waiters. */
  private readonly queues = new Map<string, Map<string, Queue<Waiter>>>();
  private ring: string[] = [];
  private cursor = 0;
  private seq = 0;
  private cancelTimer: (() => void) | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private granted = 0;
  private throttled = 0;

  constructor(options: RateBudgetOptions) {
    this.plan = options.plan;
    this.clock = options.clock ?? systemClock;
    const base: PlanRates = options.plan === 'off' ? { endpoints: {} } : PLAN_RATES[options.plan];
    const rates: PlanRates = { ...base, endpoints: { ...base.endpoints } };
    for (const [name, rate] of Object.entries(options.rates ?? {})) {
      if (name === 'global' || name === 'scimTenant') {
        if (rate) rates[name] = rate;
        else delete rates[name];
      } else if (rate) rates.endpoints[name as Auth0Bucket] = rate;
      else delete rates.endpoints[name as Auth0Bucket];
    }
    this.rates = rates;
    const now = this.clock.now();
    this.global = rates.global ? new TokenBucket(rates.global, now) : undefined;
    this.scimTenant = rates.scimTenant ? new TokenBucket(rates.scimTenant, now) : undefined;
  }

  /** Essentials meters unlisted endpoints together as "all other endpoints" (§2): they share one lane. */
  private laneId(bucket: Auth0Bucket, scope: string): string {
    const shared = bucket !== 'scim' && !this.rates.endpoints[bucket] && this.rates.endpoints.other !== undefined;
    return `${shared ? 'other' : bucket}\u0000${bucket === 'scim' ? scope : ''}`;
  }

  private lane(bucket: Auth0Bucket, scope: string): Lane {
    const id = this.laneId(bucket, scope);
    let lane = this.lanes.get(id);
    if (lane) return lane;
    const now = this.clock.now();
    const chain: TokenBucket[] = [];
    const name = id.slice(0, id.indexOf('\u0000')) as Auth0Bucket;
    const rate = this.rates.endpoints[name];
    const endpoint = rate ? new TokenBucket(rate, now) : undefined;
    if (name === 'scim') {
      // Inbound SCIM is metered apart from the Management API: per connection, then tenant-wide (§2).
      if (endpoint) chain.push(endpoint);
      if (this.scimTenant) chain.push(this.scimTenant);
    } else {
      // The global limit is evaluated first, then the endpoint's (§2).
      if (this.global) chain.push(this.global);
      if (endpoint) chain.push(endpoint);
    }
    const reported = endpoint ?? (name === 'scim' ? this.scimTenant : this.global);
    lane = { bucket: name, scope: name === 'scim' ? scope : '', chain, reported, pausedUntil: 0, lastLimit: undefined, lastRemaining: undefined, waiting: 0 };
    this.lanes.set(id, lane);
    return lane;
  }

  private readyAt(lane: Lane, now: number): number {
    let at = Math.max(now, lane.pausedUntil);
    for (const b of lane.chain) at = Math.max(at, b.readyAt(now));
    return at;
  }

  /** Resolves when a call in `bucket` may be sent; `fairnessKey` is the Provisio tenant, `scope` e.g. the SCIM connection. */
  acquire(bucket: Auth0Bucket, fairnessKey: string, scope = ''): Promise<void> {
    const lane = this.lane(bucket, scope);
    const laneId = this.laneId(bucket, scope);
    return new Promise<void>((resolve) => {
      let byLane = this.queues.get(fairnessKey);
      if (!byLane) {
        byLane = new Map();
        this.queues.set(fairnessKey, byLane);
        this.ring.push(fairnessKey);
      }
      let queue = byLane.get(laneId);
      if (!queue) byLane.set(laneId, (queue = new Queue()));
      queue.push({ seq: this.seq++, resolve });
      lane.waiting += 1;
      this.pump();
    });
  }

  /** Grants as many waiters as the buckets allow, rotating over fairness keys, then arms one timer. */
  private pump(): void {
    const now = this.clock.now();
    for (;;) {
      let grantedOne = false;
      const n = this.ring.length;
      for (let i = 0; i < n && !grantedOne; i++) {
        const idx = (this.cursor + i) % n;
        const key = this.ring[idx];
        if (key === undefined) continue;
        const byLane = this.queues.get(key);
        if (!byLane) continue;
        // This key's oldest call among lanes that can go now.
        let best: { laneId: string; queue: Queue<Waiter>; seq: number } | undefined;
        for (const [laneId, queue] of byLane) {
          const head = queue.peek();
          const lane = this.lanes.get(laneId);
          if (!head || !lane || this.readyAt(lane, now) > now) continue;
          if (!best || head.seq < best.seq) best = { laneId, queue, seq: head.seq };
        }
        if (!best) continue;
        const lane = this.lanes.get(best.laneId);
        const waiter = best.queue.shift();
        if (!lane || !waiter) continue;
        for (const b of lane.chain) b.tokens -= 1;
        lane.waiting -= 1;
        this.granted += 1;
        if (best.queue.size === 0) byLane.delete(best.laneId);
        if (byLane.size === 0) {
          this.queues.delete(key);
          this.ring.splice(idx, 1);
          this.cursor = this.ring.length === 0 ? 0 : idx % this.ring.length;
        } else {
          this.cursor = (idx + 1) % this.ring.length;
        }
        waiter.resolve();
        grantedOne = true;
      }
      if (!grantedOne) break;
    }
    this.arm(now);
  }

  private arm(now: number): void {
    let next = Number.POSITIVE_INFINITY;
    for (const byLane of this.queues.values()) {
      for (const laneId of byLane.keys()) {
        const lane = this.lanes.get(laneId);
        if (lane) next = Math.min(next, this.readyAt(lane, now));
      }
    }
    if (next === this.timerAt) return;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.timerAt = next;
    if (!Number.isFinite(next)) return;
    this.cancelTimer = this.clock.setTimer(() => {
      this.cancelTimer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.pump();
    }, Math.max(1, next - now));
  }

  /**
   * Learns from a response (success or error): `x-ratelimit-remaining` caps our token count (other
   * replicas and Actions spend the same bucket), and a 429 pauses the lane until `x-ratelimit-reset`
   * (epoch seconds, §2).
   */
  observe(bucket: Auth0Bucket, headers: HeaderSource | undefined, status: number, scope = ''): void {
    const lane = this.lane(bucket, scope);
    const now = this.clock.now();
    const limit = Number(headers?.get('x-ratelimit-limit') ?? NaN);
    const remaining = Number(headers?.get('x-ratelimit-remaining') ?? NaN);
    const reset = Number(headers?.get('x-ratelimit-reset') ?? NaN);
    if (Number.isFinite(limit)) lane.lastLimit = limit;
    if (Number.isFinite(remaining)) {
      lane.lastRemaining = remaining;
      if (lane.reported) {
        lane.reported.refill(now);
        lane.reported.tokens = Math.min(lane.reported.tokens, remaining);
      }
    }
    if (status === 429) {
      this.throttled += 1;
      const resetMs = Number.isFinite(reset) ? reset * 1000 : 0;
      const until = Math.min(resetMs > now ? resetMs : now + MIN_PAUSE_MS, now + MAX_PAUSE_MS);
      lane.pausedUntil = Math.max(lane.pausedUntil, until);
      if (lane.reported) lane.reported.tokens = Math.min(lane.reported.tokens, 0);
    }
    if (this.queues.size > 0) this.arm(now);
  }

  /** Remaining tokens and waiters per bucket, for Prometheus gauges. */
  snapshot(): BudgetSnapshot {
    const now = this.clock.now();
    const buckets: BudgetBucketSnapshot[] = [];
    for (const lane of this.lanes.values()) {
      lane.reported?.refill(now);
      buckets.push({
        bucket: lane.bucket, scope: lane.scope,
        remaining: lane.reported ? Math.max(0, Math.floor(lane.reported.tokens + EPSILON)) : lane.lastRemaining,
        limit: lane.reported?.rate.burst ?? lane.lastLimit,
        pausedUntil: lane.pausedUntil > now ? lane.pausedUntil : 0,
        waiting: lane.waiting,
      });
    }
    const waitingByKey: Record<string, number> = {};
    for (const [key, byLane] of this.queues) {
      let n = 0;
      for (const q of byLane.values()) n += q.size;
      waitingByKey[key] = n;
    }
    return { plan: this.plan, buckets, waitingByKey, granted: this.granted, throttled: this.throttled };
  }
}
