/**
 * Fault injection per operation, with the rule shape of the Auth0 emulator's (src/auth0/emulator/faults.ts)
 * so one test vocabulary serves both: server errors before or after the state change, added latency,
 * timeouts (the request is never answered) and connection resets. `errorStatus` 429 is answered as a real
 * Okta rate limit (E0000047 and the `X-Rate-Limit-*` headers), so a client's back-off is exercised.
 */

/** What can go wrong on one operation. Rates are probabilities in [0, 1]. */
export interface OktaFaultRule {
  /** Probability of answering with `errorStatus` instead of the real response. */
  errorRate?: number;
  /** 500 by default; any 5xx, or 429 for a rate limit. */
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

/** `METHOD /path-template` of an operation (`POST /api/v1/users`, `POST /oauth2/v1/token`) or `*` for all. */
export type OktaFaultTarget = string;

/** What the injector decided for one request. */
export type OktaFaultAction =
  | { kind: 'none'; latencyMs: number }
  | { kind: 'error'; latencyMs: number; status: number; phase: 'before' | 'after' }
  | { kind: 'timeout'; latencyMs: number }
  | { kind: 'reset'; latencyMs: number };

/** Thrown by `set` for a rule the emulator cannot honour. */
export class FaultRuleError extends Error {
  override name = 'FaultRuleError';
}

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

function checkRule(rule: OktaFaultRule): void {
  for (const key of ['errorRate', 'timeoutRate', 'resetRate'] as const) {
    const rate = rule[key];
    if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw new FaultRuleError(`${key} must be between 0 and 1`);
  }
  const status = rule.errorStatus;
  if (status !== undefined && !(Number.isInteger(status) && (status === 429 || (status >= 500 && status <= 599)))) {
    throw new FaultRuleError('errorStatus must be 429 or a 5xx status');
  }
  for (const key of ['latencyMs', 'times'] as const) {
    const n = rule[key];
    if (n !== undefined && !(Number.isFinite(n) && n >= 0)) throw new FaultRuleError(`${key} must be a non-negative number`);
  }
}

/** The fault rules of one emulator. */
export class OktaFaultInjector {
  private rules = new Map<OktaFaultTarget, OktaFaultRule>();
  private random: () => number;

  constructor(seed = Date.now()) {
    this.random = seeded(seed);
  }

  /** Reseeds the PRNG (replay a scenario). */
  seed(seed: number): void {
    this.random = seeded(seed);
  }

  /** Sets the rule for a target, replacing any previous one; throws `FaultRuleError` on a bad rule. */
  set(target: OktaFaultTarget, rule: OktaFaultRule): void {
    checkRule(rule);
    this.rules.set(target, { ...rule });
  }

  /** Removes one target's rule, or every rule. */
  clear(target?: OktaFaultTarget): void {
    if (target === undefined) this.rules.clear();
    else this.rules.delete(target);
  }

  /** The current rules, for inspection. */
  list(): Record<string, OktaFaultRule> {
    return Object.fromEntries([...this.rules].map(([k, v]) => [k, { ...v }]));
  }

  /** Decides what happens to one request to `target` (consumes a `times` use when a rule matches). */
  decide(target: OktaFaultTarget): OktaFaultAction {
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
