/**
 * Classifies what the `auth0` SDK (v7, research/auth0.md §3.2) and Auth0's inbound SCIM throw into two
 * kinds the sync worker acts on: retry later (429 with the bucket's reset, 5xx, timeouts, connection
 * resets) or give up (every other 4xx). Messages are built from Auth0's error envelope
 * `{statusCode, error, message, errorCode}` (§1.1) and scrubbed of secrets: the SDK never puts the
 * bearer token in an error, but token-endpoint bodies and SCIM bodies are echoed, so we redact anyway.
 */
import { asManagementError, isManagementTimeoutError } from './sdk.js';

/** Why a call may succeed when tried again. */
export type Auth0RetryReason = 'rate_limited' | 'server_error' | 'timeout' | 'network';

/** A failure worth retrying at `retryAt` (epoch ms): 429, 408, 5xx, timeout, reset / `fetch failed`. */
export class Auth0RetryableError extends Error {
  override readonly name = 'Auth0RetryableError';
  constructor(
    readonly operation: string,
    readonly reason: Auth0RetryReason,
    readonly status: number | undefined,
    readonly retryAt: number,
    message: string,
  ) {
    super(message);
  }
}

/** A 4xx that will fail the same way again (bad body, missing scope, conflict …). */
export class Auth0PermanentError extends Error {
  override readonly name: string = 'Auth0PermanentError';
  constructor(
    readonly operation: string,
    readonly status: number | undefined,
    readonly errorCode: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** 404 from Auth0 — callers that treat "missing" as a state (org by name, revoke on a deleted user) catch it. */
export class Auth0NotFoundError extends Auth0PermanentError {
  override readonly name = 'Auth0NotFoundError';
}

/** 409 from Auth0 (`auth0_idp_error` "The user already exists.", organization name taken …). */
export class Auth0ConflictError extends Auth0PermanentError {
  override readonly name = 'Auth0ConflictError';
}

/** Either classified kind. */
export type Auth0Error = Auth0RetryableError | Auth0PermanentError;

/** Read-only header access (`Headers` satisfies it). */
export interface HeaderSource {
  get(name: string): string | null;
}

/** What the classifier needs besides the error. */
export interface ClassifyContext {
  /** `'POST /organizations/{id}/members'` — goes into the message and the error. */
  operation: string;
  /** Epoch ms. */
  now: number;
  /** Literal strings never to appear in a message (client secret, SCIM tokens). */
  secrets?: readonly string[];
}

const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const JWT = /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const SECRET_FIELDS = /("?(?:client_secret|access_token|refresh_token|id_token|token|password)"?\s*[:=]\s*)"?[^",&\s}]+"?/gi;

/** Removes bearer/basic credentials, JWTs, `secret=`-style fields and the given literal secrets. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out.replace(BEARER, '$1 [redacted]').replace(JWT, '[redacted-jwt]').replace(SECRET_FIELDS, '$1[redacted]');
}

const DEFAULT_RETRY_MS = 1_000;
/** Auth0's reset is normally ≤ 60 s away (per-minute buckets); the SDK caps its own wait at 60 s too (§3.2). */
const MAX_RETRY_MS = 60_000;

/** When to try again after a 429: `Retry-After` (custom policies, §2), else `x-ratelimit-reset` (epoch s), else 1 s. */
export function retryAtFrom(headers: HeaderSource | undefined, now: number): number {
  const retryAfter = headers?.get('retry-after');
  if (retryAfter) {
    const secs = Number(retryAfter);
    const at = Number.isFinite(secs) ? now + secs * 1000 : Date.parse(retryAfter);
    if (Number.isFinite(at)) return Math.min(Math.max(at, now), now + MAX_RETRY_MS);
  }
  const reset = Number(headers?.get('x-ratelimit-reset') ?? NaN);
  if (Number.isFinite(reset) && reset > 0) return Math.min(Math.max(reset * 1000, now), now + MAX_RETRY_MS);
  return now + DEFAULT_RETRY_MS;
}

function field(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const v: unknown = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/** Auth0's envelope message (`message`, or OAuth's `error_description`), else the raw text body. */
function bodyMessage(body: unknown): string | undefined {
  if (typeof body === 'string') return body.slice(0, 300) || undefined;
  return field(body, 'message') ?? field(body, 'error_description') ?? field(body, 'detail') ?? field(body, 'error');
}

/** Classifies an HTTP failure by status — shared by the SDK path and the inbound SCIM `fetch` path. */
export function errorFromStatus(
  status: number,
  body: unknown,
  headers: HeaderSource | undefined,
  ctx: ClassifyContext,
): Auth0Error {
  const errorCode = field(body, 'errorCode') ?? (status === 429 ? 'too_many_requests' : field(body, 'scimType'));
  const detail = redact(bodyMessage(body) ?? 'no message', ctx.secrets);
  const message = `Auth0 ${ctx.operation} → ${status}${errorCode ? ` ${errorCode}` : ''}: ${detail}`;
  if (status === 429) return new Auth0RetryableError(ctx.operation, 'rate_limited', 429, retryAtFrom(headers, ctx.now), message);
  if (status === 408) return new Auth0RetryableError(ctx.operation, 'timeout', 408, ctx.now + DEFAULT_RETRY_MS, message);
  if (status >= 500) return new Auth0RetryableError(ctx.operation, 'server_error', status, ctx.now + DEFAULT_RETRY_MS, message);
  if (status === 404) return new Auth0NotFoundError(ctx.operation, status, errorCode, message);
  if (status === 409) return new Auth0ConflictError(ctx.operation, status, errorCode, message);
  return new Auth0PermanentError(ctx.operation, status, errorCode, message);
}

const NETWORK_CODES = /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|UND_ERR|socket hang up|fetch failed|other side closed|terminated/i;

function causeText(err: unknown, depth = 0): string {
  if (depth > 4 || !(err instanceof Error)) return '';
  const code = (err as { code?: unknown }).code;
  return `${err.message} ${typeof code === 'string' ? code : ''} ${causeText(err.cause, depth + 1)}`;
}

/** Turns anything thrown by an SDK call (or `fetch`) into an `Auth0Error`; already-classified errors pass through. */
export function classifyAuth0Error(err: unknown, ctx: ClassifyContext): Auth0Error {
  if (err instanceof Auth0RetryableError || err instanceof Auth0PermanentError) return err;
  // SDK 7.1.0 aborts its timer with the *string* 'timeout', so fetch rejects with that string and the SDK
  // wraps it as ManagementError{cause:'timeout', message:'"timeout"'} — never its ManagementTimeoutError.
  // The SDK is loaded lazily (src/auth0/sdk.ts): while it is not, nothing thrown can be one of its errors.
  const sdkError = asManagementError(err);
  const sdkTimeout = sdkError !== undefined && sdkError.statusCode === undefined && sdkError.cause === 'timeout';
  if (sdkTimeout || isManagementTimeoutError(err) || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))) {
    return new Auth0RetryableError(ctx.operation, 'timeout', undefined, ctx.now + DEFAULT_RETRY_MS, `Auth0 ${ctx.operation}: timed out`);
  }
  if (sdkError !== undefined && typeof sdkError.statusCode === 'number') {
    const headers = sdkError.rawResponse?.headers;
    return errorFromStatus(sdkError.statusCode, sdkError.body, headers, ctx);
  }
  const text = causeText(err);
  if (NETWORK_CODES.test(text)) {
    const summary = redact(text.replace(/\s+/g, ' ').trim().slice(0, 200), ctx.secrets);
    return new Auth0RetryableError(ctx.operation, 'network', undefined, ctx.now + DEFAULT_RETRY_MS, `Auth0 ${ctx.operation}: network error (${summary})`);
  }
  // Unknown failure (non-JSON body without status, programming error): not safe to hammer Auth0 with.
  const summary = redact(err instanceof Error ? err.message : String(err), ctx.secrets).slice(0, 300);
  return new Auth0PermanentError(ctx.operation, undefined, undefined, `Auth0 ${ctx.operation}: ${summary}`);
}
