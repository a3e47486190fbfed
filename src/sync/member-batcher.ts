import type { Auth0Gateway } from '../auth0/gateway.js';
import { MEMBERS_PER_REQUEST } from '../auth0/gateway.js';
import { sharedObserver, type CallTrace } from './call-trace.js';
import { callAuth0 } from './executor.js';

interface Pending {
  readonly userId: string;
  /** The job's Auth0 calls, which this shared request belongs to as well. */
  readonly trace: CallTrace | undefined;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Collects organization member adds from concurrently running user syncs and sends them at most ten
 * per Auth0 call (the documented cap, research/auth0.md §0.3): a batch of ten new users costs one
 * POST instead of ten. A batch leaves when it is full, when every job its tenant has running here is
 * waiting in it (no one else can join: a single change is not held back at all), or after `lingerMs`.
 * The worker starts an import's jobs one at a time as slots free up, so they reach this point staggered;
 * the linger is long enough to gather them and short against a job's own Auth0 round trips.
 */
export class MemberBatcher {
  private readonly pending = new Map<string, { tenantId: string; items: Pending[]; timer?: NodeJS.Timeout }>();

  constructor(
    private readonly gateway: Auth0Gateway,
    /** How many of a tenant's jobs are running in this process (each may still add a member). */
    private readonly runningJobs: (tenantId: string) => number,
    private readonly lingerMs = 100,
  ) {}

  add(tenantId: string, orgId: string, userId: string, trace?: CallTrace): Promise<void> {
    const key = `${tenantId}\u0000${orgId}`;
    return new Promise((resolve, reject) => {
      let batch = this.pending.get(key);
      if (!batch) {
        batch = { tenantId, items: [] };
        this.pending.set(key, batch);
      }
      batch.items.push({ userId, trace, resolve, reject });
      if (batch.items.length >= Math.min(MEMBERS_PER_REQUEST, this.runningJobs(tenantId))) this.flush(key, orgId);
      else batch.timer ??= setTimeout(() => this.flush(key, orgId), this.lingerMs);
    });
  }

  private flush(key: string, orgId: string): void {
    const batch = this.pending.get(key);
    if (!batch) return;
    this.pending.delete(key);
    if (batch.timer) clearTimeout(batch.timer);
    const ids = [...new Set(batch.items.map((i) => i.userId))];
    const traces = batch.items.flatMap((i) => (i.trace ? [i.trace] : []));
    const gateway = traces.length > 0 ? this.gateway.observed(sharedObserver(traces, ids.length)) : this.gateway;
    callAuth0(() => gateway.addMembers(orgId, ids, batch.tenantId)).then(
      () => batch.items.forEach((i) => i.resolve()),
      (err: unknown) => batch.items.forEach((i) => i.reject(err)),
    );
  }
}
