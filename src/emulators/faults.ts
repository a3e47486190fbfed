/**
 * Fault injection per operation, shared by the Auth0 and Okta emulators so one test vocabulary serves
 * both: server errors before or after the state change, added latency, timeouts (the request is never
 * answered) and connection resets. What an injected error looks like on the wire is each emulator's own.
 */

/** What can go wrong on one operation. Rates are probabilities in [0, 1]. */
export interface FaultRule {
  /** Probability of answering with `errorStatus` instead of the real response. */
  errorRate?: number;
  /** 500 by default; the statuses an emulator honours are its own (Auth0: 5xx or 408; Okta: 5xx or 429). */
  errorStatus?: number;
  /** `before` (default): nothing changes. `after`: the change is applied, then the error is returned. */
  errorPhase?: 'before' | 'after';
  /** Added to every matching request before it is handled. */
  latencyMs?: number;
  /** Probability of never answering (the client's own timeout fires). */
  timeoutRate?: number;
  /** Probability of destroying the TCP connection without a response. */
  resetRate?: number;
  /** Apply to the next N matching requests only, then remove the rule. */
  times?: number;
}

/** `METHOD /path-template` of an operation (or an emulator's own name for a group of them), `*` for all. */
export type FaultTarget = string;

/** What the injector decided for one request. */
export type FaultAction =
  | { kind: 'none'; latencyMs: number }
  | { kind: 'error'; latencyMs: number; status: number; phase: 'before' | 'after' }
  | { kind: 'timeout'; latencyMs: number }
  | { kind: 'reset'; latencyMs: number };

/** The kind of an injected fault, as the call log records it. */
export type FaultKind = Exclude<FaultAction['kind'], 'none'>;

/** mulberry32: a seeded PRNG so a failing fault scenario can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The fault rules of one emulator. */
export class FaultInjector {
  private rules = new Map<FaultTarget, FaultRule>();
  private random: () => number;

  constructor(seed = Date.now()) {
    this.random = seeded(seed);
  }

  /** Reseeds the PRNG (replay a scenario). */
  seed(seed: number): void {
    this.random = seeded(seed);
  }

  /** Sets the rule for a target, replacing any previous one. */
  set(target: FaultTarget, rule: FaultRule): void {
    this.rules.set(target, { ...rule });
  }

  /** Removes one target's rule, or every rule. */
  clear(target?: FaultTarget): void {
    if (target === undefined) this.rules.clear();
    else this.rules.delete(target);
  }

  /** The current rules, for inspection. */
  list(): Record<string, FaultRule> {
    return Object.fromEntries([...this.rules].map(([k, v]) => [k, { ...v }]));
  }

  /** Decides what happens to one request to `target` (consumes a `times` use when a rule matches). */
  decide(target: FaultTarget): FaultAction {
    const key = this.rules.has(target) ? target : this.rules.has('*') ? '*' : undefined;
    const rule = key === undefined ? undefined : this.rules.get(key);
    if (key === undefined || !rule) return { kind: 'none', latencyMs: 0 };
    if (rule.times !== undefined) {
      rule.times -= 1;
      if (rule.times <= 0) this.rules.delete(key);
    }
    const latencyMs = rule.latencyMs ?? 0;
    if (rule.resetRate !== undefined && this.random() < rule.resetRate) return { kind: 'reset', latencyMs };
    if (rule.timeoutRate !== undefined && this.random() < rule.timeoutRate) return { kind: 'timeout', latencyMs };
    if (rule.errorRate !== undefined && this.random() < rule.errorRate) {
      return { kind: 'error', latencyMs, status: rule.errorStatus ?? 500, phase: rule.errorPhase ?? 'before' };
    }
    return { kind: 'none', latencyMs };
  }
}
