/**
 * Retrying a classified Auth0 call: 429 waits until the bucket's reset (the budget has paused that lane
 * anyway, research/auth0.md §2), 5xx / timeouts / resets back off exponentially, permanent errors are thrown
 * at once. The sync worker's job retries are the outer loop; this is the inner one for a single call.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Auth0RetryableError } from './errors.js';

/** Options of `retryAuth0`. */
export interface RetryOptions {
  /** Total attempts including the first (default 5). */
  attempts?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** First backoff for non-429 failures (default 500 ms), doubled per attempt, capped at `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** Runs `fn`, retrying `Auth0RetryableError`s per their `retryAt` / backoff; rethrows the last one. */
export async function retryAuth0<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const base = options.baseDelayMs ?? 500;
  const max = options.maxDelayMs ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof Auth0RetryableError) || attempt >= attempts) throw err;
      const backoff = Math.min(max, base * 2 ** (attempt - 1));
      const wait = err.reason === 'rate_limited' ? Math.max(0, err.retryAt - now()) : Math.max(backoff, err.retryAt - now());
      await sleep(Math.min(max, wait));
    }
  }
}
