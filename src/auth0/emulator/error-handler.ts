/**
 * Turns every failure into Auth0's envelope. Schema validation failures become 400 `invalid_body` /
 * `invalid_query_string` with Auth0-style "Payload validation error: '…' on property …" messages
 * (docs:/api/management/v2 error codes); unknown errors are logged 500s.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { Auth0ApiError, reasonPhrase } from './errors.js';

interface ValidationIssue {
  keyword?: string;
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** "'<what>' on property <path>" as in Auth0's validation messages. */
function describe(issue: ValidationIssue | undefined): string {
  if (!issue) return "'Invalid request'";
  const property = (issue.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  let what = issue.message ?? 'is invalid';
  if (issue.keyword === 'required') what = `Missing required property: ${String(issue.params?.['missingProperty'])}`;
  if (issue.keyword === 'additionalProperties') {
    what = `Additional properties not allowed: ${String(issue.params?.['additionalProperty'])}`;
  }
  return property ? `'${what}' on property ${property}` : `'${what}'`;
}

function envelopeFor(error: FastifyError): Auth0ApiError {
  if (error instanceof Auth0ApiError) return error;
  const issues = (error as { validation?: ValidationIssue[] }).validation;
  if (issues) {
    const where = (error as { validationContext?: string }).validationContext;
    const first = issues[0];
    if (where === 'querystring') return new Auth0ApiError(400, `Query validation error: ${describe(first)}.`, 'invalid_query_string');
    if (where === 'params') return new Auth0ApiError(400, `Path validation error: ${describe(first)}.`, 'invalid_uri');
    return new Auth0ApiError(400, `Payload validation error: ${describe(first)}.`, 'invalid_body');
  }
  if (error.code?.startsWith('FST_ERR_CTP_') || error.statusCode === 400) {
    return new Auth0ApiError(400, 'Payload validation error: \'Invalid JSON\'.', 'invalid_body');
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new Auth0ApiError(error.statusCode, error.message);
  }
  return new Auth0ApiError(500, 'Internal Server Error');
}

/** Installs the error and not-found handlers on the emulator instance. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const envelope = envelopeFor(error);
    if (envelope.statusCode >= 500 && !(error instanceof Auth0ApiError)) request.log.error({ err: error }, 'emulator failure');
    reply.headers(envelope.headers);
    return reply.status(envelope.statusCode).send(envelope.toBody());
  });
  app.setNotFoundHandler((_request, reply) => {
    return reply.status(404).send({ statusCode: 404, error: reasonPhrase(404), message: 'Not Found' });
  });
}
