/** Counts Auth0 calls per (operation, outcome) — read by the Prometheus exporter, reset never. */

/** HTTP status, or what happened when there was none. */
export type CallOutcome = number | 'timeout' | 'network' | 'error';

/** One counter row. */
export interface CallCount {
  operation: string;
  outcome: CallOutcome;
  count: number;
}

/** In-process counters keyed by operation template (`'GET /users/{id}'`) and outcome. */
export class CallStats {
  private readonly counts = new Map<string, CallCount>();

  /** Adds one call. */
  record(operation: string, outcome: CallOutcome): void {
    const key = `${operation}\u0000${outcome}`;
    const row = this.counts.get(key);
    if (row) row.count += 1;
    else this.counts.set(key, { operation, outcome, count: 1 });
  }

  /** The count for one pair (0 when never seen). */
  get(operation: string, outcome: CallOutcome): number {
    return this.counts.get(`${operation}\u0000${outcome}`)?.count ?? 0;
  }

  /** Every row, for metrics. */
  entries(): CallCount[] {
    return [...this.counts.values()].map((r) => ({ ...r }));
  }
}
