import { pino, type Logger, type LoggerOptions } from 'pino';

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

export function loggerOptions(level: string): LoggerOptions {
  return { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
}

export function createLogger(level: string): Logger {
  return pino(loggerOptions(level));
}
