import { performance } from 'node:perf_hooks';
import type { CallOutcome } from '../auth0/call-stats.js';
import type { CallObserver } from '../auth0/gateway.js';
import type { HistoryCall } from '../db/user-history.js';

/** Calls kept per run or decision: the first ones (what it set out to do) and the last ones (where it ended). */
export const CALLS_KEPT_FIRST = 15;
export const CALLS_KEPT_LAST = 5;

/** The Management API's path prefix, which the gateway's operation templates leave out; inbound SCIM has its own. */
function fullTemplate(operation: string): string {
  const space = operation.indexOf(' ');
  const path = operation.slice(space + 1);
  return path.startsWith('/scim/') || path.startsWith('/api/') ? operation : `${operation.slice(0, space)} /api/v2${path}`;
}

/**
 * The Auth0 calls of one sync job run or login decision, bounded: the first 15 and the last 5 are kept
 * (a run stuck behind 429s keeps its start and how it ended), the ones between only counted. Only the
 * operation template, status and timing: ids, bodies and tokens never reach it. Fed by a gateway view
 * (`Auth0Gateway.observed(trace.observer)`); calls arriving after `seal` (work a login's time budget left
 * running) are ignored.
 */
export class CallTrace {
  private readonly first: HistoryCall[] = [];
  private last: HistoryCall[] = [];
  private omitted = 0;
  private sealed = false;
  private readonly startedAt = performance.now();

  /** The observer to give `Auth0Gateway.observed`. */
  readonly observer: CallObserver = (operation, outcome, durationMs) => this.add(operation, outcome, durationMs);

  /** Notes one finished call; `batchedUsers` when it was sent for several users at once. */
  add(operation: string, outcome: CallOutcome, durationMs: number, batchedUsers?: number): void {
    if (this.sealed) return;
    const call: HistoryCall = {
      operation: fullTemplate(operation),
      status: typeof outcome === 'number' ? outcome : null,
      failure: typeof outcome === 'number' ? null : outcome,
      durationMs: Math.round(durationMs),
      atMs: Math.max(0, Math.round(performance.now() - this.startedAt - durationMs)),
      ...(batchedUsers !== undefined && batchedUsers > 1 ? { batchedUsers } : {}),
    };
    if (this.first.length < CALLS_KEPT_FIRST) {
      this.first.push(call);
      return;
    }
    this.last.push(call);
    if (this.last.length > CALLS_KEPT_LAST) {
      this.last.shift();
      this.omitted++;
    }
  }

  /** Milliseconds since the trace started. */
  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  /** The kept calls in order, and how many between the first and the last ones were not kept. Ends the trace. */
  seal(): { calls: HistoryCall[]; omitted: number } {
    this.sealed = true;
    return { calls: [...this.first, ...this.last], omitted: this.omitted };
  }
}

/** One observer for several traces: a request the member batcher sends for several jobs is in each one's history. */
export function sharedObserver(traces: readonly CallTrace[], users: number): CallObserver {
  return (operation, outcome, durationMs) => {
    for (const trace of traces) trace.add(operation, outcome, durationMs, users);
  };
}
