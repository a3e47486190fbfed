/** Applies the fault injector's decision to one live request (latency, reset, timeout, 5xx). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
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
  const action = ctx.faults.decide(target);
  if (action.latencyMs > 0) await sleep(action.latencyMs);
  if (action.kind === 'none') return 'none';
  if (action.kind === 'error') {
    request.faultKind = 'error';
    request.faultStatus = action.status;
    if (action.phase === 'after') {
      request.faultAfter = true;
      return 'none';
    }
    return 'error-before';
  }
  request.faultKind = action.kind;
  ctx.calls.add({
    at: new Date().toISOString(),
    method: request.method,
    url: request.url,
    operation: target,
    status: 0,
    duration_ms: 0,
    fault: action.kind,
  });
  reply.hijack();
  if (action.kind === 'reset') request.raw.socket.destroy();
  // 'timeout': the socket stays open and silent until the client gives up or the server closes.
  return 'hijacked';
}
