/**
 * Auth0 Management API error envelope `{statusCode, error, message, errorCode}` (research/auth0.md §1.1).
 * Route code throws `Auth0ApiError`; only the emulator's error handler turns it into a response body.
 * Exact message strings follow the public docs where they are documented and are best effort elsewhere.
 */

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The JSON body Auth0 sends with every Management API error. */
export interface Auth0ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  errorCode?: string;
}

/** HTTP reason phrase Auth0 puts in `error` for a status. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Error';
}

/** A Management API error with the status and envelope Auth0 would answer. */
export class Auth0ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly errorCode?: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'Auth0ApiError';
  }

  toBody(): Auth0ErrorBody {
    const body: Auth0ErrorBody = { statusCode: this.statusCode, error: reasonPhrase(this.statusCode), message: this.message };
    if (this.errorCode !== undefined) body.errorCode = this.errorCode;
    return body;
  }
}

/** 400 `invalid_body` — the payload failed the spec's schema or a documented rule. */
export function invalidBody(message: string): Auth0ApiError {
  return new Auth0ApiError(400, message, 'invalid_body');
}

/** 400 `invalid_query_string`. */
export function invalidQuery(message: string): Auth0ApiError {
  return new Auth0ApiError(400, message, 'invalid_query_string');
}

/** 400 `invalid_paging` — docs:/manage-users/organizations/configure-organizations/retrieve-members. */
export function invalidPaging(message = 'Requesting page exceeds the allowed maximum of 1000 records'): Auth0ApiError {
  return new Auth0ApiError(400, message, 'invalid_paging');
}

/** 400 with an explicit error code (e.g. `invalid_uri`, `operation_not_supported`). */
export function badRequest(message: string, errorCode?: string): Auth0ApiError {
  return new Auth0ApiError(400, message, errorCode);
}

/** 401 — missing, unknown or expired bearer token. */
export function unauthorized(message = 'Invalid token'): Auth0ApiError {
  return new Auth0ApiError(401, message);
}

/** 403 `insufficient_scope` with Auth0's "expected any of" message (spec 403 descriptions). */
export function insufficientScope(anyOf: readonly string[]): Auth0ApiError {
  return new Auth0ApiError(403, `Insufficient scope, expected any of: ${anyOf.join(',')}`, 'insufficient_scope');
}

/** 404 with Auth0's entity-specific error code (`inexistent_user`, `inexistent_organization`, …). */
export function notFound(message: string, errorCode?: string): Auth0ApiError {
  return new Auth0ApiError(404, message, errorCode);
}

/** 409 conflict (`user already exists`, duplicate org name, role limit …). */
export function conflict(message: string, errorCode?: string): Auth0ApiError {
  return new Auth0ApiError(409, message, errorCode);
}

/** The documented normal Management API 429 body (research/auth0.md §2). */
export function tooManyRequests(message: string, headers: Readonly<Record<string, string>>): Auth0ApiError {
  return new Auth0ApiError(429, message, 'too_many_requests', headers);
}

/** An injected or genuine server fault. */
export function serverError(status = 500, message = 'Internal Server Error'): Auth0ApiError {
  return new Auth0ApiError(status, message);
}
