/**
 * SCIM protocol errors, RFC 7644 §3.12. Protocol code throws these; only the SCIM plugin's error
 * handler renders them, so every client mistake leaves as a SCIM Error body with the right status.
 */
export type ScimType =
  | 'invalidFilter' | 'tooMany' | 'uniqueness' | 'mutability' | 'invalidSyntax' | 'invalidPath'
  | 'noTarget' | 'invalidValue' | 'invalidVers' | 'sensitive' | 'invalidCursor' | 'expiredCursor' | 'invalidCount'
  | 'tooLarge';

/**
 * Which statuses each scimType may be sent with (RFC 7644 Table 9; RFC 9865 §4 for cursors). The 413s of
 * RFC 7644 §3.7.4 (a BulkRequest over `maxOperations` / `maxPayloadSize`) have no scimType in the RFC:
 * `tooMany` (as Apache SCIMple sends) and our `tooLarge` tell the two limits apart for a client.
 */
const STATUS_OF: Record<ScimType, readonly number[]> = {
  invalidFilter: [400],
  tooMany: [400, 413],
  uniqueness: [409],
  mutability: [400],
  invalidSyntax: [400],
  invalidPath: [400],
  noTarget: [400],
  invalidValue: [400],
  invalidVers: [400],
  sensitive: [400],
  invalidCursor: [400],
  expiredCursor: [400],
  invalidCount: [400],
  tooLarge: [413],
};

export class ScimError extends Error {
  readonly status: number;
  readonly scimType?: ScimType;
  /** Extra response headers (e.g. `WWW-Authenticate` on 401, `Retry-After` on 429). */
  readonly headers: Record<string, string>;

  constructor(status: number, detail: string, scimType?: ScimType, headers: Record<string, string> = {}) {
    super(detail);
    this.name = 'ScimError';
    if (scimType !== undefined && !STATUS_OF[scimType].includes(status)) {
      throw new Error(`illegal SCIM error: scimType ${scimType} cannot be sent with status ${status}`);
    }
    this.status = status;
    this.scimType = scimType;
    this.headers = headers;
  }

  static invalidFilter(detail: string): ScimError { return new ScimError(400, detail, 'invalidFilter'); }
  static invalidSyntax(detail: string): ScimError { return new ScimError(400, detail, 'invalidSyntax'); }
  static invalidValue(detail: string): ScimError { return new ScimError(400, detail, 'invalidValue'); }
  static invalidPath(detail: string): ScimError { return new ScimError(400, detail, 'invalidPath'); }
  static noTarget(detail: string): ScimError { return new ScimError(400, detail, 'noTarget'); }
  static mutability(detail: string): ScimError { return new ScimError(400, detail, 'mutability'); }
  static tooMany(detail: string): ScimError { return new ScimError(400, detail, 'tooMany'); }
  static invalidCursor(detail: string): ScimError { return new ScimError(400, detail, 'invalidCursor'); }
  static expiredCursor(detail: string): ScimError { return new ScimError(400, detail, 'expiredCursor'); }
  static uniqueness(detail: string): ScimError { return new ScimError(409, detail, 'uniqueness'); }
  static badRequest(detail: string): ScimError { return new ScimError(400, detail); }
  static unauthorized(detail = 'Authentication required: send a valid bearer token for this tenant'): ScimError {
    return new ScimError(401, detail, undefined, { 'www-authenticate': 'Bearer realm="provisio"' });
  }
  static forbidden(detail: string): ScimError { return new ScimError(403, detail); }
  static notFound(detail: string): ScimError { return new ScimError(404, detail); }
  static methodNotAllowed(detail: string): ScimError { return new ScimError(405, detail); }
  static conflict(detail: string): ScimError { return new ScimError(409, detail); }
  static preconditionFailed(detail: string): ScimError { return new ScimError(412, detail); }
  static payloadTooLarge(detail: string): ScimError { return new ScimError(413, detail); }
  static unsupportedMediaType(detail: string): ScimError { return new ScimError(415, detail); }
  /** RFC 7644 §3.12: 429 carries no scimType; `Retry-After` (RFC 9110 §10.2.3) says when to come back. */
  static tooManyRequests(detail: string, retryAfterSeconds: number): ScimError {
    return new ScimError(429, detail, undefined, { 'retry-after': String(retryAfterSeconds) });
  }
  static notImplemented(detail: string): ScimError { return new ScimError(501, detail); }
  /** RFC 7644 §3.12 lists 503 for a server that cannot serve now; `Retry-After` says when to come back. */
  static serviceUnavailable(detail: string, retryAfterSeconds: number): ScimError {
    return new ScimError(503, detail, undefined, { 'retry-after': String(retryAfterSeconds) });
  }
}

/** The RFC 7644 §3.12 body; `status` is a string there. */
export interface ScimErrorBody {
  schemas: [string];
  status: string;
  scimType?: ScimType;
  detail: string;
}
