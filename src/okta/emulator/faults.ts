/**
 * Fault injection per operation: the shared rules of src/emulators/faults.ts, checked for what Okta can
 * answer. `errorStatus` 429 is answered as a real Okta rate limit (E0000047 and the `X-Rate-Limit-*`
 * headers), so a client's back-off is exercised.
 */
import { FaultInjector, type FaultRule, type FaultTarget } from '../../emulators/faults.js';

/** Thrown by `set` for a rule the emulator cannot honour. */
export class FaultRuleError extends Error {
  override name = 'FaultRuleError';
}

function checkRule(rule: FaultRule): void {
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

/**
 * The fault rules of one Okta emulator. Targets: `METHOD /path-template` of an operation (`POST /api/v1/users`,
 * `POST /oauth2/v1/token`) or `*` for all.
 */
export class OktaFaultInjector extends FaultInjector {
  /** Sets the rule for a target, replacing any previous one; throws `FaultRuleError` on a bad rule. */
  override set(target: FaultTarget, rule: FaultRule): void {
    checkRule(rule);
    super.set(target, rule);
  }
}
