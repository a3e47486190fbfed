/** What every route of the emulator shares: the org's data, its rate budgets, its API token and clock. */
import type { OktaRateLimiter } from './rate-limit.js';
import type { OktaState } from './state.js';

export interface OktaEmulatorContext {
  state: OktaState;
  limiter: OktaRateLimiter;
  /** The one API token the org accepts (`Authorization: SSWS <token>`). */
  token: string;
  now: () => number;
}

/** The context's clock as Okta formats timestamps (`2013-06-24T16:39:18.000Z`). */
export function timestamp(ctx: OktaEmulatorContext): string {
  return new Date(ctx.now()).toISOString();
}
