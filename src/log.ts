import { pino, type Logger, type LoggerOptions } from 'pino';
import { redactUrl } from './http/url-credentials.js';

/**
 * Paths that may carry secrets. Redacted wherever they appear in a log line: bearer tokens in
 * request headers, client secrets and tokens in bodies we choose to log.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  // pino's `*.x` matches one level down only, so a top-level `{ token }` needs its own path.
  'token',
  'clientSecret',
  'client_secret',
  'password',
  'secret',
  '*.token',
  '*.clientSecret',
  '*.client_secret',
  '*.password',
  '*.secret',
];

interface LoggedRequest {
  readonly method?: string;
  readonly url?: string;
  readonly host?: string;
  readonly ip?: string;
  readonly socket?: { readonly remotePort?: number };
}

/**
 * Fastify's request serializer, with credential-looking query values redacted (src/http/url-credentials.ts):
 * such requests are refused, but the line saying they arrived is written first.
 */
function requestSerializer(req: LoggedRequest): Record<string, unknown> {
  return { method: req.method, url: typeof req.url === 'string' ? redactUrl(req.url) : req.url, host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
}

export function loggerOptions(level: string): LoggerOptions {
  return { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, serializers: { req: requestSerializer } };
}

export function createLogger(level: string): Logger {
  return pino(loggerOptions(level));
}
