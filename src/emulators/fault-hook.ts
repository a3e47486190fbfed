/** Applies a fault injector's decision to one live request (latency, reset, timeout, injected error). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CallLog } from './call-log.js';
import type { FaultAction, FaultInjector } from './faults.js';

/** What the fault hook needs of an emulator. */
export interface FaultHookContext {
  faults: FaultInjector;
  calls: CallLog;
  /** The clock the call log's `at` is read from (ms epoch). */
  now(): number;
}

/**
 * Decides the fault for `operation`, waits its added latency and returns the decision. `note` is called
 * first with any fault, to mark it on the request in the emulator's own fields. A reset or a timeout
 * takes the request over (the socket is destroyed, or left silent until the client gives up or the server
 * closes): it must not be answered. An injected error is only decided here; the route answers it once
 * authentication has run (a backend failure still needs a valid credential to be reached).
 */
export async function applyFaultAction(
  ctx: FaultHookContext,
  operation: string,
  request: FastifyRequest,
  reply: FastifyReply,
  note: (action: Exclude<FaultAction, { kind: 'none' }>) => void,
): Promise<FaultAction> {
  const action = ctx.faults.decide(operation);
  if (action.latencyMs > 0) await sleep(action.latencyMs);
  if (action.kind === 'none') return action;
  note(action);
  if (action.kind === 'error') return action;
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
  return action;
}
