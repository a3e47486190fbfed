import type { FastifyError } from 'fastify';
import { ScimError, type ScimErrorBody } from './errors.js';
import { URN } from './urn.js';

export function errorBody(err: ScimError): ScimErrorBody {
  return {
    schemas: [URN.error],
    status: String(err.status),
    ...(err.scimType ? { scimType: err.scimType } : {}),
    detail: err.message,
  };
}

/**
 * Maps what Fastify itself rejects (before our handlers run) to SCIM errors, so an IdP never sees a
 * non-SCIM body: bad JSON, an unsupported content type, a body over the limit.
 */
export function toScimError(err: unknown): ScimError | undefined {
  if (err instanceof ScimError) return err;
  const fe = err as Partial<FastifyError>;
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return ScimError.unsupportedMediaType('Send the body as application/scim+json (or application/json)');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return ScimError.payloadTooLarge('The request body is larger than this server accepts (SCIM_MAX_BODY_BYTES)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return ScimError.invalidSyntax('The request body is empty or its length is wrong');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return ScimError.invalidSyntax('The request body is not valid JSON');
    // A NUL or unpaired surrogate in the URL (src/http/text-hygiene.ts): PostgreSQL cannot store it.
    case 'PROVISIO_ERR_UNSTORABLE_TEXT':
      return ScimError.invalidValue(fe.message ?? 'The request contains text this server cannot store');
    default:
      break;
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new ScimError(fe.statusCode, fe.message ?? 'Bad request');
  }
  return undefined;
}
