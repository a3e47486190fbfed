/**
 * The admin API's error contract: every failure is `{ statusCode, error, code, message }` (the shape
 * Fastify itself uses for validation errors, so a client parses one shape), with 4xx for the caller's
 * mistakes and a logged 500 for ours. Only the admin plugin's error handler turns these into responses.
 */
import { STATUS_CODES } from 'node:http';
import { TenantInputError } from './tenants.js';
import { TokenInputError } from './tokens.js';
import { SyncConfigError } from '../sync/config.js';
import { Auth0PermanentError, Auth0RetryableError } from '../auth0/errors.js';
import { isDatabaseUnavailable } from '../db/errors.js';

export class AdminError extends Error {
  override name = 'AdminError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  static invalid(message: string): AdminError {
    return new AdminError(400, 'invalid_request', message);
  }
  /** RFC 6750 §3: a 401 carries a `WWW-Authenticate: Bearer` challenge, with `invalid_token` when one was sent. */
  static unauthorized(message: string, tokenSent = true): AdminError {
    const challenge = `Bearer realm="provisio-admin"${tokenSent ? ', error="invalid_token"' : ''}`;
    return new AdminError(401, 'unauthorized', message, { 'www-authenticate': challenge });
  }
  static forbidden(message: string): AdminError {
    return new AdminError(403, 'forbidden', message);
  }
  static notFound(message: string): AdminError {
    return new AdminError(404, 'not_found', message);
  }
  static conflict(message: string): AdminError {
    return new AdminError(409, 'conflict', message);
  }
  static unavailable(message: string): AdminError {
    return new AdminError(503, 'unavailable', message);
  }
  /** The database refused, reset or timed out (src/db/errors.ts): retry later, nothing was applied. */
  static databaseUnavailable(retryAfterSeconds: number): AdminError {
    return new AdminError(503, 'database_unavailable', `The database is not available right now; retry after ${retryAfterSeconds} s`, { 'retry-after': String(retryAfterSeconds) });
  }
  static tooManyRequests(message: string, retryAfterSeconds: number): AdminError {
    return new AdminError(429, 'too_many_requests', message, { 'retry-after': String(retryAfterSeconds) });
  }
}

export interface AdminErrorBody {
  readonly statusCode: number;
  readonly error: string;
  readonly code: string;
  readonly message: string;
}

export function errorBody(err: AdminError): AdminErrorBody {
  return { statusCode: err.statusCode, error: STATUS_CODES[err.statusCode] ?? 'Error', code: err.code, message: err.message };
}

interface FastifyLikeError {
  readonly code?: string;
  readonly statusCode?: number;
  readonly validation?: unknown;
  readonly validationContext?: string;
  readonly message: string;
}

/**
 * Maps domain and framework errors to the admin contract; undefined for an unexpected (500) error.
 * `retryAfterSeconds` is the `Retry-After` of a 503 for an unavailable database (`DB_RETRY_AFTER_SECONDS`).
 */
export function toAdminError(err: unknown, retryAfterSeconds = 5): AdminError | undefined {
  if (err instanceof AdminError) return err;
  if (err instanceof TenantInputError) {
    return err.kind === 'not-found' ? AdminError.notFound(err.message) : err.kind === 'conflict' ? AdminError.conflict(err.message) : AdminError.invalid(err.message);
  }
  if (err instanceof TokenInputError || err instanceof SyncConfigError) return AdminError.invalid(err.message);
  // Auth0 answered for the caller's input (unknown connection, duplicate invitation…): relay it as theirs.
  // Auth0's own 401/403 mean our M2M client is misconfigured: a 502, not the caller's fault.
  if (err instanceof Auth0PermanentError) {
    if (err.status === 400 || err.status === 404 || err.status === 409) return new AdminError(err.status, 'auth0_rejected', `Auth0: ${err.message}`);
    return new AdminError(502, 'auth0_error', `Auth0 refused ${err.operation}: ${err.message}`);
  }
  if (err instanceof Auth0RetryableError) {
    const seconds = Math.max(1, Math.ceil((err.retryAt - Date.now()) / 1000));
    return new AdminError(503, 'auth0_unavailable', `Auth0 is not answering ${err.operation} (${err.reason}); try again in ${seconds} s`, { 'retry-after': String(seconds) });
  }
  // After the Auth0 errors: a network failure towards Auth0 carries an ECONNRESET cause too.
  if (isDatabaseUnavailable(err)) return AdminError.databaseUnavailable(retryAfterSeconds);
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as FastifyLikeError;
  if (e.validation) {
    // Our ids are UUIDs: an id that is not one names nothing here, a 404 like any unknown id.
    if (e.validationContext === 'params' && Array.isArray(e.validation) && e.validation.some((v: { keyword?: string; params?: { format?: string } }) => v.keyword === 'format' && v.params?.format === 'uuid')) {
      return AdminError.notFound(`Not found: ${e.message}`);
    }
    return AdminError.invalid(e.message);
  }
  if (typeof e.code === 'string') {
    // @fastify/jwt and fast-jwt: bad, expired or wrongly signed tokens (a wrong `alg` arrives as a 500).
    if (e.code.startsWith('FST_JWT_') || e.code.startsWith('FAST_JWT_')) return AdminError.unauthorized(`The access token is not valid: ${e.message}`);
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AdminError(415, 'unsupported_media_type', 'Send the body as application/json');
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AdminError(413, 'payload_too_large', 'The request body is too large');
    if (e.code.startsWith('FST_ERR_CTP_') || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return AdminError.invalid(`The request body is not valid JSON: ${e.message}`);
  }
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) return new AdminError(e.statusCode, 'invalid_request', e.message);
  return undefined;
}
