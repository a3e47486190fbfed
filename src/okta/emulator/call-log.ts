/**
 * A log of every request the emulator received, for tests that assert which calls a client made. The
 * record has the Auth0 emulator's shape (src/auth0/emulator/call-log.ts), so `/__emulator/calls` reads
 * the same on both. Bodies are kept for writes with their secrets removed (`loggableBody`).
 */

export interface OktaCallRecord {
  seq: number;
  /** ISO time the request arrived. */
  at: string;
  method: string;
  /** Request URL as received (path + query). */
  url: string;
  /** `METHOD /path-template` of the matched operation (`POST /api/v1/users`), undefined for unknown paths. */
  operation?: string;
  /** Response status; 0 when the connection was reset or left unanswered by injection. */
  status: number;
  /** The service app of a bearer token (absent for `SSWS` calls). */
  client_id?: string;
  duration_ms: number;
  /** Injected fault, if any. */
  fault?: 'error' | 'timeout' | 'reset';
  /** Parsed body of write requests, secrets removed. */
  body?: unknown;
}

/** Form fields of `/oauth2/v1/token` that are safe to keep (the signed assertion is a credential). */
const TOKEN_LOG_FIELDS = ['grant_type', 'scope', 'client_id', 'client_assertion_type'];
const REDACTED = '[redacted]';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A user body with `credentials.password.value` and `recovery_question.answer` replaced. */
function withoutCredentials(body: Record<string, unknown>): Record<string, unknown> {
  const credentials = body['credentials'];
  if (!isRecord(credentials)) return body;
  const out: Record<string, unknown> = { ...credentials };
  const password = credentials['password'];
  if (isRecord(password) && 'value' in password) out['password'] = { ...password, value: REDACTED };
  const recovery = credentials['recovery_question'];
  if (isRecord(recovery) && 'answer' in recovery) out['recovery_question'] = { ...recovery, answer: REDACTED };
  return { ...body, credentials: out };
}

/** What the log keeps of a write's body. */
export function loggableBody(operation: string | undefined, body: unknown): unknown {
  if (!isRecord(body)) return body;
  if (operation === 'POST /oauth2/v1/token') {
    return Object.fromEntries(Object.entries(body).filter(([k]) => TOKEN_LOG_FIELDS.includes(k)));
  }
  return withoutCredentials(body);
}

/** Bounded, append-only call log. */
export class OktaCallLog {
  private records: OktaCallRecord[] = [];
  private seq = 0;

  constructor(private readonly max = 10_000) {}

  add(record: Omit<OktaCallRecord, 'seq'>): void {
    this.records.push({ seq: ++this.seq, ...record });
    if (this.records.length > this.max) this.records.splice(0, this.records.length - this.max);
  }

  /** A copy of the records, optionally only those of `operation` or newer than `since`. */
  list(filter?: { operation?: string; since?: number }): OktaCallRecord[] {
    return this.records
      .filter((r) => (filter?.operation === undefined || r.operation === filter.operation) && r.seq > (filter?.since ?? 0))
      .map((r) => ({ ...r }));
  }

  /** Sequence number of the latest record (use as `since` to read only newer calls). */
  get last(): number {
    return this.seq;
  }

  clear(): void {
    this.records = [];
  }
}
