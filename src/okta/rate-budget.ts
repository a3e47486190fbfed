/**
 * Okta's rate limits, read from its own answers: every response of a limited endpoint family carries
 * `X-Rate-Limit-Limit`, `-Remaining` and `-Reset` (epoch seconds when the window ends;
 * developer.okta.com/docs/reference/rl-best-practices). Requests of a family whose remaining budget is down
 * to the reserve wait for the reset instead of drawing 429s, so the mirror leaves room for the org's other
 * clients (admins, other integrations) that share the budget. One budget per Okta org, shared by every
 * tenant bound to it.
 */

interface Window {
  limit: number;
  remaining: number;
  /** Epoch ms when the window resets. */
  resetAt: number;
}

/** Read-only header access (node-fetch's `Headers`). */
export interface RateHeaders {
  get(name: string): string | null;
}

/** The family a request counts against; Okta's buckets are per endpoint family (`/api/v1/users`, `/api/v1/users/{id}`, `/api/v1/groups`…). */
export function rateFamily(method: string, url: string): string {
  const path = new URL(url).pathname;
  if (path.startsWith('/oauth2/')) return 'oauth2';
  if (path.startsWith('/api/v1/groups')) return 'groups';
  if (/^\/api\/v1\/users\/?$/.test(path)) return method.toUpperCase() === 'POST' ? 'users:create' : 'users:list';
  if (path.startsWith('/api/v1/users/')) return 'user';
  return 'other';
}

export class OktaRateBudget {
  private readonly windows = new Map<string, Window>();
  /** Requests that waited for a window to reset, and 429s answered anyway (for metrics and the benchmark). */
  readonly counts = { waits: 0, throttled: 0 };

  constructor(
    /** Share of each window left unused (0–0.9). */
    private readonly reserve = 0.1,
    private readonly now: () => number = Date.now,
  ) {}

  /** How long a request of `family` should wait before it is sent (0: now). */
  delayFor(family: string): number {
    const w = this.windows.get(family);
    if (!w) return 0;
    const now = this.now();
    if (now >= w.resetAt) {
      this.windows.delete(family);
      return 0;
    }
    const floor = Math.floor(w.limit * this.reserve);
    if (w.remaining > floor) {
      // Count it now: concurrent requests must not all see the same remaining budget.
      w.remaining -= 1;
      return 0;
    }
    return w.resetAt - now;
  }

  /** Takes the family's budget from an answer's headers. */
  observe(family: string, headers: RateHeaders, status: number): void {
    if (status === 429) this.counts.throttled++;
    const limit = Number(headers.get('x-rate-limit-limit'));
    const remaining = Number(headers.get('x-rate-limit-remaining'));
    const reset = Number(headers.get('x-rate-limit-reset'));
    if (!Number.isFinite(limit) || !Number.isFinite(remaining) || !Number.isFinite(reset) || headers.get('x-rate-limit-limit') === null) return;
    const resetAt = reset * 1000;
    const known = this.windows.get(family);
    // Answers arrive out of order: within one window the lowest remaining count is the truest.
    if (known && known.resetAt === resetAt) known.remaining = Math.min(known.remaining, status === 429 ? 0 : remaining);
    else this.windows.set(family, { limit, remaining: status === 429 ? 0 : remaining, resetAt });
  }

  /** When a 429's window resets (epoch ms), from its headers, else a second from now. */
  retryAt(headers: RateHeaders): number {
    const reset = Number(headers.get('x-rate-limit-reset'));
    return Number.isFinite(reset) && reset > 0 ? Math.max(this.now(), reset * 1000) : this.now() + 1000;
  }
}
