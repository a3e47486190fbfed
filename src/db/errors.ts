/** PostgreSQL error helpers: the driver reports constraint failures as `{ code, constraint }`. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; constraint?: unknown };
  return e.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

/** A foreign key check failed (23503), optionally on one of `constraints`. */
export function isForeignKeyViolation(err: unknown, constraints?: readonly string[]): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; constraint?: unknown };
  return e.code === '23503' && (constraints === undefined || constraints.includes(e.constraint as string));
}

/** A repository write was refused by a unique constraint: `constraint` names it, `value` is the duplicate. */
export class DuplicateError extends Error {
  constructor(readonly constraint: string, readonly value: string, options?: { cause?: unknown }) {
    super(`"${value}" is already stored (unique constraint ${constraint})`, options);
    this.name = 'DuplicateError';
  }
}

/** A repository write referenced a row that is gone: the foreign key `constraint` refused it. */
export class MissingReferenceError extends Error {
  constructor(readonly constraint: string, options?: { cause?: unknown }) {
    super(`the row referenced through ${constraint} does not exist`, options);
    this.name = 'MissingReferenceError';
  }
}

/**
 * SQLSTATEs meaning "the database cannot serve this now, try again": 57014 query_canceled (our
 * statement_timeout), 57P01–57P03 admin/crash shutdown and cannot_connect_now (starting up), 53300
 * too_many_connections; class 08 is connection exceptions (PostgreSQL Appendix A), except 08P01
 * protocol_violation: a message the server could not accept (a Bind with more values than the statement
 * has parameters) is our bug, and a 503 with Retry-After would have the IdP retry it forever.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57014', '57P01', '57P02', '57P03', '53300']);
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** What `pg` and `pg-pool` say when a connection could not be had or died (they set no code). */
const UNAVAILABLE_MESSAGE = /^(Connection terminated|timeout exceeded when trying to connect|timeout expired|Query read timeout|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end)/;

/**
 * True when `err` says the database is unreachable, overloaded or too slow (refused, reset, timed out,
 * shutting down), as opposed to a problem with the statement: callers answer 503 with `Retry-After`.
 * Follows `cause` and `AggregateError.errors` (Node reports a refused dual-stack connect as one).
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (UNAVAILABLE_SQLSTATES.has(e.code) || UNAVAILABLE_ERRNO.has(e.code) || (/^08[0-9A-Z]{3}$/.test(e.code) && e.code !== '08P01'))) return true;
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1))) return true;
  return e.cause !== undefined && isDatabaseUnavailable(e.cause, depth + 1);
}

/** The part of a pino logger the outage log needs. */
interface WarnLogger {
  warn(obj: object, msg: string): void;
}

/**
 * Logs a database outage as one warning per `intervalMs` (with how many failures it stands for) instead
 * of a stack trace per request: during an outage every request fails the same way.
 */
export class OutageLog {
  private lastAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(private readonly intervalMs = 30_000, private readonly now: () => number = Date.now) {}

  report(log: WarnLogger, err: unknown, context: string): void {
    const at = this.now();
    if (at - this.lastAt < this.intervalMs) {
      this.suppressed++;
      return;
    }
    const reason = err instanceof Error ? `${(err as { code?: string }).code ?? ''} ${err.message}`.trim() : String(err);
    log.warn({ reason, failuresSinceLastWarning: this.suppressed }, `database unavailable: ${context}`);
    this.lastAt = at;
    this.suppressed = 0;
  }
}

/** The process's outage log: SCIM, admin and login requests report through one, so an outage is one line per interval. */
export const requestOutageLog = new OutageLog();
