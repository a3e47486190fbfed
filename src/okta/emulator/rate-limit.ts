/**
 * Okta's per-endpoint rate limits (developer.okta.com/docs/reference/rl-global-mgmt): each endpoint
 * family has a budget of requests per one-minute window; every answer from a limited family carries
 * `X-Rate-Limit-Limit`, `X-Rate-Limit-Remaining` and `X-Rate-Limit-Reset` (epoch seconds when the window
 * ends), and a request over budget is 429 E0000047. Budgets are off unless configured, so tests that do
 * not care never see a 429.
 */
import { rateLimited } from './errors.js';

/**
 * The families the emulated calls fall into, following Okta's table: `/api/v1/users` (create, list),
 * `/api/v1/users/{id}` (get, update, lifecycle, delete) and `/api/v1/groups` (everything under it).
 */
export type OktaRateBucket = 'users' | 'user' | 'groups';

/** Requests allowed per window, by family; a family left out is unlimited. */
export type OktaRateLimits = Partial<Record<OktaRateBucket, number>>;

/**
 * The per-minute budgets of Okta's table for these families (users 600, a user by id 600, groups 500);
 * the `X-Rate-Limit-Limit` of an injected 429 on a family left unlimited here.
 */
export const OKTA_DEFAULT_LIMITS: Readonly<Record<OktaRateBucket, number>> = { users: 600, user: 600, groups: 500 };

interface Window {
  startedAt: number;
  used: number;
}

/** Fixed-window counters for the configured families. */
export class OktaRateLimiter {
  private windows = new Map<OktaRateBucket, Window>();

  constructor(
    private limits: OktaRateLimits = {},
    private readonly now: () => number = Date.now,
    /** Okta's windows are one minute; tests of the SDK's retry shorten them. */
    readonly windowMs = 60_000,
  ) {}

  /** Sets (or with `undefined` removes) one family's budget and starts it afresh. */
  setLimit(bucket: OktaRateBucket, limit: number | undefined): void {
    const next = { ...this.limits };
    if (limit === undefined) delete next[bucket];
    else next[bucket] = limit;
    this.limits = next;
    this.windows.delete(bucket);
  }

  /** Starts every window afresh. */
  reset(): void {
    this.windows.clear();
  }

  /**
   * The headers of a 429 that did not come from counting (an injected fault): the family's limit, none
   * remaining, and a reset at the end of the current window (or of one starting now). Without a family
   * (the token endpoint, which has no budget here) there is no limit to state.
   */
  exhaustedHeaders(bucket: OktaRateBucket | undefined): Record<string, string> {
    const window = bucket === undefined ? undefined : this.windows.get(bucket);
    const now = this.now();
    const endsAt = window && now < window.startedAt + this.windowMs ? window.startedAt + this.windowMs : now + this.windowMs;
    return {
      ...(bucket !== undefined ? { 'x-rate-limit-limit': String(this.limits[bucket] ?? OKTA_DEFAULT_LIMITS[bucket]) } : {}),
      'x-rate-limit-remaining': '0',
      'x-rate-limit-reset': String(Math.ceil(endsAt / 1000)),
    };
  }

  /** Counts one request against `bucket`; returns the headers to send, or throws the 429. */
  enforce(bucket: OktaRateBucket): Record<string, string> {
    const limit = this.limits[bucket];
    if (limit === undefined) return {};
    const now = this.now();
    let window = this.windows.get(bucket);
    if (!window || now >= window.startedAt + this.windowMs) {
      window = { startedAt: now, used: 0 };
      this.windows.set(bucket, window);
    }
    const allowed = window.used < limit;
    if (allowed) window.used += 1;
    const headers = {
      'x-rate-limit-limit': String(limit),
      'x-rate-limit-remaining': String(Math.max(0, limit - window.used)),
      'x-rate-limit-reset': String(Math.ceil((window.startedAt + this.windowMs) / 1000)),
    };
    if (!allowed) throw rateLimited(headers);
    return headers;
  }
}
