/**
 * Applies the fault injector's decision to one live request (src/emulators/fault-hook.ts), marking an
 * injected 5xx on the request for the route to answer in the Auth0 error shape.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { applyFaultAction } from '../../emulators/fault-hook.js';
import type { EmulatorContext } from './context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Injected status for an `error` fault. */
    faultStatus?: number;
    /** Answer with `faultStatus` after the handler changed the state. */
    faultAfter?: boolean;
    /** Kind of fault injected, for the call log. */
    faultKind?: 'error' | 'timeout' | 'reset';
  }
}

export type FaultOutcome = 'none' | 'hijacked' | 'error-before';

/**
 * Decides and applies the fault for `target`. `hijacked` means the request was taken over (reset or left
 * hanging) and must not be answered; `error-before` means the caller must answer with `faultStatus` once
 * authentication has run (an injected 5xx still needs a valid token, as a real backend failure would).
 */
export async function applyFault(
  ctx: EmulatorContext,
  target: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FaultOutcome> {
  // The call log reads the wall clock, not the tenant's (app.ts).
  const action = await applyFaultAction({ faults: ctx.faults, calls: ctx.calls, now: Date.now }, target, request, reply, (fault) => {
    request.faultKind = fault.kind;
    if (fault.kind !== 'error') return;
    request.faultStatus = fault.status;
    if (fault.phase === 'after') request.faultAfter = true;
  });
  if (action.kind === 'none') return 'none';
  if (action.kind === 'error') return action.phase === 'after' ? 'none' : 'error-before';
  return 'hijacked';
}
