/**
 * Okta's error body `{errorCode, errorSummary, errorLink, errorId, errorCauses}` and the codes the
 * emulated calls answer (developer.okta.com/docs/reference/error-codes). Route code throws `OktaApiError`;
 * only the emulator's error handler turns it into a response.
 */
import { newErrorId } from './ids.js';

/** One entry of `errorCauses`: Okta names the field first (`login: …`). */
export interface OktaErrorCause {
  errorSummary: string;
}

/** The JSON body Okta sends with every Management API error. */
export interface OktaErrorBody {
  errorCode: string;
  errorSummary: string;
  errorLink: string;
  errorId: string;
  errorCauses: OktaErrorCause[];
}

/** A Management API error with the status and body Okta would answer. */
export class OktaApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly errorCode: string,
    readonly errorSummary: string,
    readonly causes: readonly string[] = [],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(errorSummary);
    this.name = 'OktaApiError';
  }

  /** Okta repeats the code in `errorLink` and gives every error a fresh `oae…` id for support tickets. */
  toBody(): OktaErrorBody {
    return {
      errorCode: this.errorCode,
      errorSummary: this.errorSummary,
      errorLink: this.errorCode,
      errorId: newErrorId(),
      errorCauses: this.causes.map((errorSummary) => ({ errorSummary })),
    };
  }
}

/** 400 E0000001: a profile field failed validation; each cause is `field: reason`. */
export function validationFailed(causes: readonly string[]): OktaApiError {
  const fields = causes.map((c) => c.split(':')[0]).join(', ');
  return new OktaApiError(400, 'E0000001', `Api validation failed: ${fields}`, causes);
}

/** The cause Okta gives for a login or group name already in use. */
export function alreadyExists(field: string): OktaApiError {
  return validationFailed([`${field}: An object with this field already exists in the current organization`]);
}

/** 400 E0000003: the body is not JSON. */
export function malformedBody(): OktaApiError {
  return new OktaApiError(400, 'E0000003', 'The request body was not well-formed.');
}

/** 401 E0000011: missing, malformed or unknown `SSWS` token. */
export function invalidToken(): OktaApiError {
  return new OktaApiError(401, 'E0000011', 'Invalid token provided');
}

/** 404 E0000007, naming the id as given and Okta's type label (`User`, `UserGroup`). */
export function notFound(id: string, kind: 'User' | 'UserGroup'): OktaApiError {
  return new OktaApiError(404, 'E0000007', `Not found: Resource not found: ${id} (${kind})`);
}

/** 404 E0000007 for a path the emulator does not serve. */
export function unknownPath(path: string): OktaApiError {
  return new OktaApiError(404, 'E0000007', `Not found: Resource not found: ${path}`);
}

/** 403 E0000016: activate on a user that is already active. */
export function alreadyActive(): OktaApiError {
  return new OktaApiError(403, 'E0000016', 'Activation failed because the user is already active');
}

/** 403 E0000038: a lifecycle operation the user's current status does not allow. */
export function invalidStatusTransition(): OktaApiError {
  return new OktaApiError(403, 'E0000038', "This operation is not allowed in the user's current status.");
}

/** 400 E0000031: a `filter`/`search` expression outside the supported grammar. */
export function invalidSearch(detail: string): OktaApiError {
  return new OktaApiError(400, 'E0000031', 'Invalid search criteria.', [detail]);
}

/** 429 E0000047 with the rate-limit headers of the exhausted bucket. */
export function rateLimited(headers: Readonly<Record<string, string>>): OktaApiError {
  return new OktaApiError(429, 'E0000047', 'API call exceeded rate limit due to too many requests.', [], headers);
}

/** 403 E0000006, Okta's generic refusal (developer.okta.com/docs/reference/error-codes). */
export function accessDenied(headers: Readonly<Record<string, string>> = {}): OktaApiError {
  return new OktaApiError(403, 'E0000006', 'You do not have permission to perform the requested action', [], headers);
}

/**
 * 403 E0000006 for a bearer token without the scope an endpoint needs, with the `WWW-Authenticate`
 * header Okta adds (support.okta.com "insufficient_scope Error when Making a Request to an OAuth or
 * Management Endpoint": `Bearer authorization_uri=…, realm=…, scope=…, error="insufficient_scope", …`).
 */
export function insufficientScope(scope: string, resource: string, origin: string): OktaApiError {
  const challenge = [
    `authorization_uri="${origin}/oauth2/v1/authorize"`,
    `realm="${origin}"`,
    `scope="${scope}"`,
    'error="insufficient_scope"',
    'error_description="The access token provided does not contain the required scopes."',
    `resource="${resource}"`,
  ].join(', ');
  return accessDenied({ 'www-authenticate': `Bearer ${challenge}` });
}

/**
 * 400 E0000060: what Okta answers when a user is assigned to the built-in `Everyone` group
 * (okta/terraform-provider-okta#903: "Failed to assign group "Everyone" to user …: Unsupported operation.").
 */
export function unsupportedOperation(): OktaApiError {
  return new OktaApiError(400, 'E0000060', 'Unsupported operation.');
}

/**
 * An injected server-side failure with Okta's body for its status: 429 as a real rate limit (E0000047 and
 * the three headers), 503 E0000010 (Okta's maintenance answer), any other status E0000009.
 */
export function injectedFailure(status: number, rateHeaders: Readonly<Record<string, string>>): OktaApiError {
  if (status === 429) return rateLimited(rateHeaders);
  if (status === 503) return new OktaApiError(503, 'E0000010', 'Service is in read only mode');
  return new OktaApiError(status, 'E0000009', 'Internal Server Error');
}
