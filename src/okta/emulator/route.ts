/**
 * Registers one emulated Management API operation. Every request passes, in order, `SSWS` token check →
 * rate budget of the endpoint family → handler; the rate-limit headers are set before the handler can
 * fail, so error answers carry them too.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OktaEmulatorContext } from './context.js';
import { invalidToken } from './errors.js';
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

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Throws 401 E0000011 unless the request carries `Authorization: SSWS <the org's token>`. */
export function authenticate(ctx: OktaEmulatorContext, request: FastifyRequest): void {
  const match = /^SSWS\s+(\S+)$/.exec(request.headers.authorization ?? '');
  if (!match?.[1] || !sameToken(match[1], ctx.token)) throw invalidToken();
}

function params(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  }
  return out;
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
  app.route({
    method,
    url: template.replace(/\{([^}]+)\}/g, ':$1'),
    preValidation: async (request: FastifyRequest, reply: FastifyReply) => {
      authenticate(ctx, request);
      reply.headers(ctx.limiter.enforce(bucket));
    },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const origin = `${request.protocol}://${request.host}`;
      const result = handler({ params: params(request.params), url: new URL(request.url, origin), body: request.body, origin });
      if (result.headers) reply.headers(result.headers);
      reply.status(result.status);
      return result.body === undefined ? reply.send() : reply.send(result.body);
    },
  });
}
