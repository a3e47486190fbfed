/**
 * What every route of the emulator shares: the org's data, its rate budgets, its credentials (the API
 * token, the service apps and the access tokens minted for them), the fault rules, the call log and clock.
 */
import type { OktaAccessTokens } from './access-tokens.js';
import type { OktaCallLog } from './call-log.js';
import type { OktaFaultInjector } from './faults.js';
import type { OktaRateLimiter } from './rate-limit.js';
import type { OktaServiceApps } from './service-apps.js';
import type { OktaState } from './state.js';

export interface OktaEmulatorContext {
  state: OktaState;
  limiter: OktaRateLimiter;
  /** The one API token the org accepts (`Authorization: SSWS <token>`). */
  token: string;
  serviceApps: OktaServiceApps;
  accessTokens: OktaAccessTokens;
  faults: OktaFaultInjector;
  calls: OktaCallLog;
  now: () => number;
}

/** The context's clock as Okta formats timestamps (`2013-06-24T16:39:18.000Z`). */
export function timestamp(ctx: OktaEmulatorContext): string {
  return new Date(ctx.now()).toISOString();
}

/**
 * Starts the org afresh: no users, no groups but `Everyone`, no faults, an empty call log, fresh rate
 * windows. Credentials survive (the API token, service apps, live access tokens), so a client configured
 * from the emulator's printed credentials keeps working.
 */
export function resetOrg(ctx: OktaEmulatorContext): void {
  ctx.state.clear();
  ctx.faults.clear();
  ctx.calls.clear();
  ctx.limiter.reset();
}
