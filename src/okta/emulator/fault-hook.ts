/** Applies the fault injector's decision to one live request (latency, reset, timeout, injected error). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
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
 * error is only noted on the request, for the route to answer once authentication has run (a backend
 * failure still needs a valid credential to be reached).
 */
export async function applyFault(
  ctx: OktaEmulatorContext,
  operation: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<boolean> {
  const action = ctx.faults.decide(operation);
  if (action.latencyMs > 0) await sleep(action.latencyMs);
  if (action.kind === 'none') return false;
  request.oktaFaultKind = action.kind;
  if (action.kind === 'error') {
    request.oktaInjectedError = { status: action.status, phase: action.phase };
    return false;
  }
  // A taken-over request never reaches onResponse: log it here.
  ctx.calls.add({
    at: new Date(ctx.now()).toISOString(),
    method: request.method,
    url: request.url,
    operation,
    status: 0,
    duration_ms: action.latencyMs,
    fault: action.kind,
  });
  reply.hijack();
  if (action.kind === 'reset') request.raw.socket.destroy();
  return true;
}
