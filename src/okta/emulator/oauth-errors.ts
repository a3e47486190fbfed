/**
 * The errors of Okta's org authorization server (`/oauth2/v1/token`): RFC 6749 §5.2 bodies
 * `{error, error_description}`, not the Management API's `errorCode` body. Client authentication
 * failures are 401 `invalid_client`, as Okta answers them (okta/okta-sdk-python#289:
 * `HTTP 401 {'error': 'invalid_client', 'error_description': 'The client_assertion JWT kid is invalid.'}`);
 * the others are 400.
 */

/** The JSON body of an OAuth error. */
export interface OktaOAuthErrorBody {
  error: string;
  error_description: string;
}

/** An OAuth error with the status and body the token endpoint answers. */
export class OktaOAuthError extends Error {
  constructor(
    readonly statusCode: 400 | 401,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
    this.name = 'OktaOAuthError';
  }

  toBody(): OktaOAuthErrorBody {
    return { error: this.error, error_description: this.description };
  }
}

/** 401 `invalid_client`: the client is unknown or its assertion does not authenticate it. */
export function invalidClient(description: string): OktaOAuthError {
  return new OktaOAuthError(401, 'invalid_client', description);
}

/** 400 `invalid_scope`: a scope is missing, unknown or not granted to the client (RFC 6749 §5.2 wording). */
export function invalidScope(description = 'The requested scope is invalid, unknown, or malformed.'): OktaOAuthError {
  return new OktaOAuthError(400, 'invalid_scope', description);
}

/** 400 `invalid_request`: a required parameter is missing or malformed. */
export function invalidRequest(description: string): OktaOAuthError {
  return new OktaOAuthError(400, 'invalid_request', description);
}

/** 400 `unsupported_grant_type`: the org authorization server mints tokens for service apps only. */
export function unsupportedGrantType(): OktaOAuthError {
  return new OktaOAuthError(400, 'unsupported_grant_type', 'The authorization server does not support the requested grant type.');
}
