/**
 * Registers one Management API operation: URL and request schemas come from the spec extract
 * (`operation-schemas.ts`), and every request passes, in order, fault injection → bearer token →
 * rate limit → scope check → schema validation → handler. Rate-limit headers are set before any of
 * these can fail so they are on every response, 429 included.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { insufficientScope, serverError, unauthorized } from './errors.js';
import type { EmulatorContext } from './context.js';
import { applyFault } from './fault-hook.js';
import { OPERATIONS, type OperationKey } from './operation-schemas.js';
import { categoryOf } from './rate-limit.js';

/** What a handler sees: decoded params, coerced query, parsed body, and the caller. */
export interface OperationRequest {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  clientId: string;
  scopes: readonly string[];
}

/** A handler's answer: status and JSON body (omitted for 204/202 without content). */
export interface OperationResult {
  status: number;
  body?: unknown;
}

export type OperationHandler = (req: OperationRequest) => OperationResult | Promise<OperationResult>;

declare module 'fastify' {
  interface FastifyRequest {
    auth0Caller?: { clientId: string; scopes: readonly string[] };
  }
  interface FastifyContextConfig {
    operation?: string;
  }
}

function toRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? { ...value } : {};
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(toRecord(value))) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Looks up the bearer token; 401 as Auth0 answers for a missing, unknown or expired token. */
export function authenticate(ctx: EmulatorContext, request: FastifyRequest): { clientId: string; scopes: readonly string[] } {
  const header = request.headers.authorization;
  if (!header) throw unauthorized('Missing authentication');
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw unauthorized('Bad HTTP authentication header format');
  const token = ctx.state.tokens.get(match[1]);
  if (!token || !ctx.state.clients.has(token.client_id)) throw unauthorized('Invalid token');
  if (token.expires_at <= ctx.now()) throw unauthorized('Expired token received for JSON Web Token validation');
  return { clientId: token.client_id, scopes: token.scopes };
}

/** Throws 403 `insufficient_scope` unless the caller holds one of `anyOf`. */
export function requireScope(scopes: readonly string[], anyOf: readonly string[]): void {
  if (anyOf.length > 0 && !anyOf.some((s) => scopes.includes(s))) throw insufficientScope(anyOf);
}

/** Registers `key` under `/api/v2` with the spec's request schemas and the standard pipeline. */
export function registerOperation(
  app: FastifyInstance,
  ctx: EmulatorContext,
  key: OperationKey,
  handler: OperationHandler,
): void {
  const spec = OPERATIONS[key];
  const [method, template] = key.split(' ') as [string, string];
  const url = `/api/v2${template.replace(/\{([^}]+)\}/g, ':$1')}`;
  const schema: Record<string, unknown> = {};
  if (spec.params) schema['params'] = spec.params;
  if (spec.querystring) schema['querystring'] = spec.querystring;
  if (spec.body) schema['body'] = spec.body;

  app.route({
    method: method as 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    url,
    schema,
    config: { operation: key },
    preValidation: async (request: FastifyRequest, reply: FastifyReply) => {
      const fault = await applyFault(ctx, key, request, reply);
      if (fault === 'hijacked') return reply;
      const caller = authenticate(ctx, request);
      request.auth0Caller = caller;
      reply.headers(ctx.limiter.enforce(categoryOf(key)));
      requireScope(caller.scopes, spec.scopes);
      if (fault === 'error-before') throw serverError(request.faultStatus ?? 500);
      return undefined;
    },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const caller = request.auth0Caller;
      if (!caller) throw unauthorized();
      const result = await handler({
        params: stringRecord(request.params),
        query: toRecord(request.query),
        body: request.body,
        clientId: caller.clientId,
        scopes: caller.scopes,
      });
      if (request.faultAfter) throw serverError(request.faultStatus ?? 500);
      reply.status(result.status);
      return result.body === undefined ? reply.send() : reply.send(result.body);
    },
  });
}
