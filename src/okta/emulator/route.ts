/**
 * Registers one emulated Management API operation. Every request passes, in order, fault injection →
 * credential check (`SSWS` or `Bearer`, auth.ts) → rate budget of the endpoint family → scope check →
 * handler. The rate-limit headers are set before anything after them can fail, so error answers carry
 * them too; an injected error needs a valid credential, as a real backend failure would.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticate, requireScope, type OktaCaller } from './auth.js';
import type { OktaEmulatorContext } from './context.js';
import { injectedFailure, invalidToken } from './errors.js';
import { applyFault } from './fault-hook.js';
import type { OktaRateBucket } from './rate-limit.js';

/** What a handler sees: path params, the absolute request URL (query included) and the parsed body. */
export interface OktaRequest {
  params: Record<string, string>;
  url: URL;
  body: unknown;
  /** `http://host:port` the client used: links in answers point back to it. */
  origin: string;
}

/** A handler's answer: status, JSON body (none for 204) and extra headers (`Link`). */
export interface OktaResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type OktaHandler = (req: OktaRequest) => OktaResult;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once the credential is checked. */
    oktaCaller?: OktaCaller;
  }
  interface FastifyContextConfig {
    /** `METHOD /path-template` of the emulated operation, for faults and the call log. */
    oktaOperation?: string;
  }
}

function params(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/** `http://host:port` as the client addressed the emulator. */
export function originOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/** Registers `method template` (Okta's `{param}` syntax) drawing from `bucket`. */
export function registerOktaRoute(
  app: FastifyInstance,
  ctx: OktaEmulatorContext,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  template: string,
  bucket: OktaRateBucket,
  handler: OktaHandler,
): void {
  const operation = `${method} ${template}`;
  app.route({
    method,
    url: template.replace(/\{([^}]+)\}/g, ':$1'),
    config: { oktaOperation: operation },
    preValidation: async (request: FastifyRequest, reply: FastifyReply) => {
      if (await applyFault(ctx, operation, request, reply)) return reply;
      const caller = authenticate(ctx, request);
      request.oktaCaller = caller;
      reply.headers(ctx.limiter.enforce(bucket));
      requireScope(caller, method, template, request.url.split('?')[0] ?? request.url, originOf(request));
      const injected = request.oktaInjectedError;
      if (injected?.phase === 'before') throw injectedFailure(injected.status, ctx.limiter.exhaustedHeaders(bucket));
      return undefined;
    },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      if (!request.oktaCaller) throw invalidToken();
      const origin = originOf(request);
      const result = handler({ params: params(request.params), url: new URL(request.url, origin), body: request.body, origin });
      const injected = request.oktaInjectedError;
      if (injected?.phase === 'after') throw injectedFailure(injected.status, ctx.limiter.exhaustedHeaders(bucket));
      if (result.headers) reply.headers(result.headers);
      reply.status(result.status);
      return result.body === undefined ? reply.send() : reply.send(result.body);
    },
  });
}
