/**
 * Inbound throttling with token buckets (`SCIM_RATE_LIMIT`, `AUTH_FAILURE_RATE_LIMIT`).
 *
 * The buckets are `limiter`'s `TokenBucket`: a real token bucket (refill `perSecond`, capacity `burst`)
 * with a synchronous `tryRemoveTokens`, parent buckets debited together with their child, and the wait
 * until a token is back (`getWaitTime`) for `Retry-After`. `@fastify/rate-limit` and
 * `rate-limiter-flexible`'s memory limiters count fixed windows instead, which let twice the limit through
 * across a window edge and cannot express "a steady rate with bursts of N".
 *
 * Buckets live in bounded LRU maps (`lru-cache`): a flood of addresses, tenants or tokens evicts the least
 * recently used bucket instead of growing memory. An evicted bucket comes back full, which only ever
 * lets a forgotten client through, never refuses a new one.
 */
import { TokenBucket } from 'limiter';
import { LRUCache } from 'lru-cache';
import type { RateLimit } from '../config.js';

/** Why a request was refused: its tenant's bucket, its token's bucket, or its address's failed logins. */
export type ThrottleReason = 'tenant' | 'token' | 'auth_failures';

export interface Throttled {
  readonly reason: ThrottleReason;
  /** The limit that refused it (for the error detail). */
  readonly limit: RateLimit;
  /** Whole seconds until a token is back (RFC 9110 §10.2.3 `Retry-After`), at least 1. */
  readonly retryAfterSeconds: number;
}

/** Who a request spends for: the ids of its tenant and of its bearer token. */
export interface ThrottleKey {
  readonly tenantId: string;
  readonly tokenId: string;
}

const MAX_BUCKETS = 10_000;
const MAX_ADDRESSES = 50_000;

function fullBucket(limit: RateLimit): TokenBucket {
  const bucket = new TokenBucket({ bucketSize: limit.burst, tokensPerInterval: limit.perSecond, interval: 1000 });
  // limiter starts a bucket empty; a client we have not seen (or forgot) starts with its whole burst.
  bucket.content = limit.burst;
  return bucket;
}

function retryAfterSeconds(bucket: TokenBucket, count = 1): number {
  return Math.max(1, Math.ceil(bucket.getWaitTime(count) / 1000));
}

/**
 * Requests per tenant and per token. Every request takes one token from its token's bucket and from its
 * tenant's bucket (limiter's parent bucket: both or neither are debited). The tenant bucket bounds what a
 * tenant can make us do whatever the number of tokens it holds; the token bucket is the tenant's own
 * numbers, so the usual single IdP app per tenant gets the full rate, and a second limit per token can
 * be set apart later without changing the hook.
 */
export class RequestThrottle {
  private readonly tenants = new LRUCache<string, TokenBucket>({ max: MAX_BUCKETS });
  private readonly tokens = new LRUCache<string, TokenBucket>({ max: MAX_BUCKETS });

  constructor(
    readonly tenantLimit: RateLimit,
    readonly tokenLimit: RateLimit = tenantLimit,
  ) {}

  /** Takes one token for `key`; undefined when the request may go on, else why it may not and for how long. */
  take(key: ThrottleKey): Throttled | undefined {
    return this.takeTokens(key, 1);
  }

  /**
   * The rest of the cost of a request that paid one token in the hook and costs `cost` (a Bulk request
   * costs one per operation). Capped so the whole never exceeds the smaller burst: a request larger than
   * a bucket passes when the bucket is full instead of never. A refusal takes nothing.
   */
  takeMore(key: ThrottleKey, cost: number): Throttled | undefined {
    const extra = Math.min(cost, this.tenantLimit.burst, this.tokenLimit.burst) - 1;
    return extra >= 1 ? this.takeTokens(key, extra) : undefined;
  }

  private takeTokens(key: ThrottleKey, count: number): Throttled | undefined {
    let tenant = this.tenants.get(key.tenantId);
    if (!tenant) this.tenants.set(key.tenantId, (tenant = fullBucket(this.tenantLimit)));
    let token = this.tokens.get(key.tokenId);
    if (!token) this.tokens.set(key.tokenId, (token = fullBucket(this.tokenLimit)));
    // The tenant's bucket may have been evicted and made anew since this token's bucket was.
    if (token.parentBucket !== tenant) token.parentBucket = tenant;
    if (token.tryRemoveTokens(count)) return undefined;
    const retryAfter = retryAfterSeconds(token, count);
    // With equal limits both run dry together: name the tenant, the limit an operator configured.
    if (tenant.getWaitTime(count) > 0) return { reason: 'tenant', limit: this.tenantLimit, retryAfterSeconds: retryAfter };
    return { reason: 'token', limit: this.tokenLimit, retryAfterSeconds: retryAfter };
  }
}

/**
 * Failed authentications per source address. Each 401 takes a token; an address whose bucket is empty
 * is refused before its credential is looked up, so a token-guessing loop costs the database nothing.
 * IPv6 addresses count per /64, the block one subscriber usually holds.
 */
export class AuthFailureThrottle {
  private readonly addresses = new LRUCache<string, TokenBucket>({ max: MAX_ADDRESSES });

  constructor(readonly limit: RateLimit) {}

  /** Seconds until `address` may try again, or undefined when it has failures left. Takes nothing. */
  refused(address: string): number | undefined {
    const bucket = this.addresses.get(addressKey(address));
    return bucket && bucket.getWaitTime(1) > 0 ? retryAfterSeconds(bucket) : undefined;
  }

  /** Counts one failed authentication from `address`. */
  failed(address: string): void {
    const key = addressKey(address);
    let bucket = this.addresses.get(key);
    if (!bucket) this.addresses.set(key, (bucket = fullBucket(this.limit)));
    bucket.tryRemoveTokens(1);
  }
}

/** `100/s with bursts of 500` (or `30/min …` below one per second), for error details and logs. */
export function describeLimit(limit: RateLimit): string {
  const rate = limit.perSecond >= 1 ? `${+limit.perSecond.toFixed(3)}/s` : `${+(limit.perSecond * 60).toFixed(3)}/min`;
  return `${rate} with bursts of ${limit.burst}`;
}

/** IPv4 as is (also when IPv4-mapped), IPv6 reduced to its /64 prefix. */
export function addressKey(address: string): string {
  if (!address.includes(':')) return address;
  const ip = address.split('%')[0]!.toLowerCase();
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/.test(ip)) return ip.slice(7);
  const [head = '', tail] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
