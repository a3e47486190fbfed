/**
 * Applies the fault injector's decision to one live request (src/emulators/fault-hook.ts), noting an
 * injected error on the request for the route to answer in Okta's error shape.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { applyFaultAction } from '../../emulators/fault-hook.js';
import type { OktaEmulatorContext } from './context.js';

/** An injected error waiting to be answered. */
export interface OktaInjectedError {
  status: number;
  /** `after`: answer it once the handler has changed the state. */
  phase: 'before' | 'after';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The error injected into this request, if any. */
    oktaInjectedError?: OktaInjectedError;
    /** Kind of fault injected, for the call log. */
    oktaFaultKind?: 'error' | 'timeout' | 'reset';
  }
}

/**
 * Decides and applies the fault for `operation`. Returns true when the request was taken over (reset, or
 * left hanging until the client gives up or the server closes) and must not be answered; an injected
 * error is only noted on the request, for the route to answer once authentication has run.
 */
export async function applyFault(
  ctx: OktaEmulatorContext,
  operation: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<boolean> {
  const action = await applyFaultAction(ctx, operation, request, reply, (fault) => {
    request.oktaFaultKind = fault.kind;
    if (fault.kind === 'error') request.oktaInjectedError = { status: fault.status, phase: fault.phase };
  });
  return action.kind === 'timeout' || action.kind === 'reset';
}
