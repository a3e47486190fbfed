/**
 * Errors Fastify and Node raise before any plugin's handler runs (bad percent-encoding, a request line
 * or header Node cannot parse, an unknown route or method) answered in the body of the API the URL
 * names: RFC 7644 §3.12 under `/scim`, the admin contract under `/v1/admin`, Fastify's shape elsewhere.
 */
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody as adminErrorBody, AdminError } from './admin/errors.js';
import { errorBody as scimErrorBody, toScimError } from './scim/error-response.js';
import { ScimError } from './scim/errors.js';
import { SCIM_CONTENT_TYPE } from './scim/plugin.js';

type Family = 'scim' | 'admin' | 'other';

/** Which API a request target belongs to (the path, percent-encoded or not). */
export function familyOf(url: string): Family {
  if (url.startsWith('/scim/') || url === '/scim') return 'scim';
  if (url.startsWith('/v1/admin') && (url.length === 9 || '/?#'.includes(url.charAt(9)))) return 'admin';
  return 'other';
}

function statusOf(err: Partial<FastifyError>): number {
  return typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
}

/** The status, content type and body for `err` on a request to `url`. */
function render(url: string, err: Partial<FastifyError>): { status: number; type: string; body: string } {
  const status = statusOf(err);
  const message = status >= 500 ? 'Internal error; the request was not applied' : err.message ?? STATUS_CODES[status] ?? 'Error';
  switch (familyOf(url)) {
    case 'scim': {
      const scim = err.code === 'FST_ERR_BAD_URL' ? ScimError.invalidSyntax(message) : toScimError(err) ?? new ScimError(status, message);
      return { status: scim.status, type: SCIM_CONTENT_TYPE, body: JSON.stringify(scimErrorBody(scim)) };
    }
    case 'admin': {
      const code = status === 404 ? 'not_found' : status >= 500 ? 'internal' : 'invalid_request';
      return { status, type: 'application/json; charset=utf-8', body: JSON.stringify(adminErrorBody(new AdminError(status, code, message))) };
    }
    default:
      return { status, type: 'application/json; charset=utf-8', body: JSON.stringify({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', ...(err.code ? { code: err.code } : {}), message }) };
  }
}

function send(request: FastifyRequest, reply: FastifyReply, err: Partial<FastifyError>): FastifyReply {
  const { status, type, body } = render(request.url, err);
  if (status >= 500) request.log.error({ err }, 'request failed');
  else request.log.info({ status, code: err.code, detail: err.message }, 'client error');
  return reply.code(status).type(type).send(body);
}

/**
 * Fastify's `frameworkErrors`: a URL it cannot percent-decode (FST_ERR_BAD_URL, a 400), or a path
 * parameter longer than `maxParamLength` (Fastify says 414; no id or tenant of ours is that long, so 404).
 */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?')[0] ?? '';
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') send(request, reply, { statusCode: 404, code: err.code, message: `No resource at ${path.slice(0, 200)}` });
  else send(request, reply, { statusCode: 400, code: err.code, message: 'The request path is not valid percent-encoded UTF-8' });
}

/** The root error handler: errors outside the SCIM, admin and login plugins (their 404 contexts included). */
export function rootErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return send(request, reply, err);
}

/** The root 404: no route for this method and path (an unknown method under `/scim` or `/v1/admin` too). */
export function rootNotFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0] ?? '';
  return send(request, reply, { statusCode: 404, code: 'FST_ERR_NOT_FOUND', message: `No endpoint ${request.method} ${path}` });
}

interface ParserError extends Error {
  readonly code?: string;
  /** The bytes llhttp had read: a Buffer at run time (Fastify's type says otherwise). */
  readonly rawPacket?: unknown;
}

/**
 * Node's `clientError`: a request line or header it cannot parse. There is no request object, so the
 * API is read from the request line's target when llhttp got that far.
 */
export function clientErrorHandler(err: ParserError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const message = status === 408 ? 'The request was not received in time' : status === 431 ? 'The request headers are too large' : 'The request could not be parsed as HTTP';
  const line = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.subarray(0, 2048).toString('latin1').split('\r\n', 1)[0] ?? '' : '';
  const target = line.split(' ')[1] ?? '';
  const { type, body } = render(target, { statusCode: status, message, ...(err.code ? { code: err.code } : {}) });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: ${type}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}
