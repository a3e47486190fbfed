/**
 * Turns every failure into Okta's error body: `OktaApiError`s as thrown, OAuth errors of the token
 * endpoint as `{error, error_description}`, unparsable JSON as 400 E0000003, unknown paths as 404
 * E0000007, anything else as a logged 500 E0000009.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { malformedBody, OktaApiError, unknownPath } from './errors.js';
import { OktaOAuthError } from './oauth-errors.js';

function errorFor(error: FastifyError): OktaApiError {
  if (error instanceof OktaApiError) return error;
  if (error.code?.startsWith('FST_ERR_CTP_') || error instanceof SyntaxError) return malformedBody();
  return new OktaApiError(500, 'E0000009', 'Internal Server Error');
}

/** Installs the error and not-found handlers on the emulator instance. */
export function installOktaErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if ((error as unknown) instanceof OktaOAuthError) {
      const oauth = error as unknown as OktaOAuthError;
      return reply.status(oauth.statusCode).header('cache-control', 'no-store').send(oauth.toBody());
    }
    const okta = errorFor(error);
    if (okta.statusCode >= 500 && !(error instanceof OktaApiError)) request.log.error({ err: error }, 'okta emulator failure');
    reply.headers(okta.headers);
    return reply.status(okta.statusCode).send(okta.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = unknownPath(request.url.split('?')[0] ?? request.url);
    return reply.status(error.statusCode).send(error.toBody());
  });
}
