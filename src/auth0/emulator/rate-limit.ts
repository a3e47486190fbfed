/**
 * Auth0's Management API rate limits as token buckets: burst = bucket size, sustained = refill rate; the
 * global limit is evaluated first, then the endpoint's bucket (docs:/troubleshoot/customer-support/
 * operational-policies/rate-limit-policy). Tables from research/auth0.md §2: Free (global 2 / 2 rps),
 * Essentials/Professional/B2B (per endpoint, "all other endpoints" 10 / 150 per min), Enterprise public
 * prod (global 50 / 16 rps plus per-endpoint). Every response carries `x-ratelimit-limit`,
 * `x-ratelimit-remaining` and `x-ratelimit-reset` (epoch seconds).
 */
import { tooManyRequests } from './errors.js';
import type { OperationKey } from './operation-schemas.js';

export type RatePlan = 'free' | 'essentials' | 'enterprise' | 'off';

export type RateCategory =
  | 'read_orgs' | 'read_org_by_id' | 'read_org_by_name' | 'write_orgs'
  | 'read_org_members' | 'write_org_members' | 'read_org_member_roles' | 'write_org_member_roles'
  | 'org_invitations' | 'read_org_connections' | 'write_org_connections'
  | 'read_users' | 'write_users' | 'read_user_orgs' | 'read_connections' | 'other'
  | 'scim_connection' | 'scim_tenant';

/** Bucket size and refill rate. */
export interface BucketLimit {
  burst: number;
  perSecond: number;
}

export interface PlanLimits {
  global?: BucketLimit;
  endpoints: Partial<Record<RateCategory, BucketLimit>>;
}

const perMin = (burst: number, perMinute: number): BucketLimit => ({ burst, perSecond: perMinute / 60 });

/** docs:/…/rate-limit-configurations/{free-public, essentials-professional-b2b, enterprise-public}. */
export const RATE_PLANS: Readonly<Record<Exclude<RatePlan, 'off'>, PlanLimits>> = {
  free: {
    global: { burst: 2, perSecond: 2 },
    endpoints: { scim_connection: { burst: 5, perSecond: 5 }, scim_tenant: { burst: 5, perSecond: 5 } },
  },
  essentials: {
    endpoints: {
      read_orgs: perMin(5, 50), read_org_by_id: perMin(20, 200), read_org_by_name: perMin(10, 100),
      write_orgs: perMin(5, 25), read_org_members: perMin(40, 500), write_org_members: perMin(20, 200),
      read_org_member_roles: perMin(20, 200), write_org_member_roles: perMin(20, 200),
      read_org_connections: perMin(5, 50), write_org_connections: perMin(5, 25),
      read_users: perMin(40, 500), write_users: perMin(20, 200), read_connections: perMin(5, 50),
      other: perMin(10, 150),
      scim_connection: { burst: 25, perSecond: 25 }, scim_tenant: { burst: 100, perSecond: 100 },
    },
  },
  enterprise: {
    global: { burst: 50, perSecond: 16 },
    endpoints: {
      read_orgs: perMin(10, 100), read_org_by_id: perMin(10, 100), read_user_orgs: perMin(40, 500),
      read_org_by_name: perMin(20, 200), write_orgs: perMin(5, 150), read_org_members: perMin(40, 500),
      write_org_members: perMin(20, 200), org_invitations: perMin(20, 200),
      read_org_member_roles: perMin(20, 200), write_org_member_roles: perMin(20, 200),
      read_org_connections: perMin(10, 100), write_org_connections: perMin(5, 150),
      scim_connection: { burst: 25, perSecond: 25 }, scim_tenant: { burst: 100, perSecond: 100 },
    },
  },
};

/** Which documented bucket an operation draws from; unlisted operations fall in `other`. */
const CATEGORY: Partial<Record<OperationKey, RateCategory>> = {
  'GET /organizations': 'read_orgs',
  'GET /organizations/{id}': 'read_org_by_id',
  'GET /organizations/name/{name}': 'read_org_by_name',
  'POST /organizations': 'write_orgs',
  'PATCH /organizations/{id}': 'write_orgs',
  'DELETE /organizations/{id}': 'write_orgs',
  'GET /organizations/{id}/members': 'read_org_members',
  'POST /organizations/{id}/members': 'write_org_members',
  'DELETE /organizations/{id}/members': 'write_org_members',
  'GET /organizations/{id}/members/{user_id}/roles': 'read_org_member_roles',
  'POST /organizations/{id}/members/{user_id}/roles': 'write_org_member_roles',
  'DELETE /organizations/{id}/members/{user_id}/roles': 'write_org_member_roles',
  'GET /organizations/{id}/invitations': 'org_invitations',
  'POST /organizations/{id}/invitations': 'org_invitations',
  'GET /organizations/{id}/invitations/{invitation_id}': 'org_invitations',
  'DELETE /organizations/{id}/invitations/{invitation_id}': 'org_invitations',
  'GET /organizations/{id}/enabled_connections': 'read_org_connections',
  'GET /organizations/{id}/enabled_connections/{connectionId}': 'read_org_connections',
  'POST /organizations/{id}/enabled_connections': 'write_org_connections',
  'PATCH /organizations/{id}/enabled_connections/{connectionId}': 'write_org_connections',
  'DELETE /organizations/{id}/enabled_connections/{connectionId}': 'write_org_connections',
  'GET /users': 'read_users',
  'GET /users/{id}': 'read_users',
  'GET /users-by-email': 'read_users',
  'POST /users': 'write_users',
  'PATCH /users/{id}': 'write_users',
  'DELETE /users/{id}': 'write_users',
  'GET /users/{id}/organizations': 'read_user_orgs',
  'GET /connections': 'read_connections',
  'GET /connections/{id}': 'read_connections',
};

/** The bucket category of a Management API operation. */
export function categoryOf(operation: OperationKey): RateCategory {
  return CATEGORY[operation] ?? 'other';
}

interface Bucket {
  limit: BucketLimit;
  tokens: number;
  updated: number;
}

/** Outcome of one request against the buckets; `headers` go on the response either way. */
export interface RateDecision {
  allowed: boolean;
  headers: Record<string, string>;
  message?: string;
}

/** Token buckets for one tenant under one plan, with per-bucket overrides for tests. */
export class RateLimiter {
  private buckets = new Map<string, Bucket>();
  private overrides = new Map<string, BucketLimit | null>();

  constructor(private plan: RatePlan, private readonly now: () => number = Date.now) {}

  get currentPlan(): RatePlan {
    return this.plan;
  }

  /** Switches plan and refills every bucket. */
  setPlan(plan: RatePlan): void {
    this.plan = plan;
    this.buckets.clear();
  }

  /** Overrides one bucket (`'global'` or a category); `null` removes that bucket, `undefined` restores the plan's. */
  setLimit(bucket: RateCategory | 'global', limit: BucketLimit | null | undefined): void {
    if (limit === undefined) this.overrides.delete(bucket);
    else this.overrides.set(bucket, limit);
    this.buckets.delete(bucket);
  }

  /** Refills every bucket. */
  reset(): void {
    this.buckets.clear();
  }

  private limitFor(name: RateCategory | 'global'): BucketLimit | undefined {
    if (this.overrides.has(name)) return this.overrides.get(name) ?? undefined;
    if (this.plan === 'off') return undefined;
    const plan = RATE_PLANS[this.plan];
    return name === 'global' ? plan.global : plan.endpoints[name];
  }

  private bucket(key: string, limit: BucketLimit): Bucket {
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b || b.limit.burst !== limit.burst || b.limit.perSecond !== limit.perSecond) {
      b = { limit, tokens: limit.burst, updated: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(limit.burst, b.tokens + ((now - b.updated) / 1000) * limit.perSecond);
    b.updated = now;
    return b;
  }

  private headers(b: Bucket): Record<string, string> {
    // Time until the next whole token is added (the bucket is full: now).
    const missing = b.tokens >= b.limit.burst ? 0 : Math.floor(b.tokens) + 1 - b.tokens;
    const resetMs = this.now() + (missing / b.limit.perSecond) * 1000;
    return {
      'x-ratelimit-limit': String(b.limit.burst),
      'x-ratelimit-remaining': String(Math.max(0, Math.floor(b.tokens))),
      'x-ratelimit-reset': String(Math.ceil(resetMs / 1000)),
    };
  }

  /**
   * Takes one token from the global bucket (if the plan has one) and from `category`'s bucket, keyed by
   * `scope` where a bucket is per entity (SCIM: per connection). Reports the endpoint bucket's headers
   * when it exists, else the global one's.
   */
  take(category: RateCategory, scope = ''): RateDecision {
    const chain: { name: string; limit: BucketLimit; global: boolean }[] = [];
    const global = category.startsWith('scim_') ? undefined : this.limitFor('global');
    if (global) chain.push({ name: 'global', limit: global, global: true });
    const endpoint = this.limitFor(category) ?? (category.startsWith('scim_') ? undefined : this.limitFor('other'));
    const endpointName = this.limitFor(category) ? category : 'other';
    if (endpoint) chain.push({ name: `${endpointName}:${scope}`, limit: endpoint, global: false });
    if (chain.length === 0) return { allowed: true, headers: {} };
    let reported: Record<string, string> = {};
    for (const link of chain) {
      const b = this.bucket(link.name, link.limit);
      if (b.tokens < 1) {
        const message = link.global
          ? 'Global limit has been reached'
          : 'Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers.';
        return { allowed: false, headers: this.headers(b), message };
      }
      b.tokens -= 1;
      reported = this.headers(b);
    }
    return { allowed: true, headers: reported };
  }

  /** Throws the documented 429 when a request is over the limit; otherwise returns headers to send. */
  enforce(category: RateCategory, scope = ''): Record<string, string> {
    const decision = this.take(category, scope);
    if (!decision.allowed) throw tooManyRequests(decision.message ?? 'Too Many Requests', decision.headers);
    return decision.headers;
  }
}
