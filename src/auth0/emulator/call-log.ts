/** A log of every request the emulator received, for tests that assert which calls a client made. */

export interface CallRecord {
  seq: number;
  /** ISO time the request arrived. */
  at: string;
  method: string;
  /** Request URL as received (path + query). */
  url: string;
  /** `METHOD /path-template` of the matched operation, `POST /oauth/token`, `SCIM …`, or undefined. */
  operation?: string;
  /** Response status; 0 when the connection was reset or the request timed out by injection. */
  status: number;
  client_id?: string;
  duration_ms: number;
  /** Injected fault, if any. */
  fault?: 'error' | 'timeout' | 'reset';
  /** Parsed JSON body of write requests (secrets in `/oauth/token` bodies are not recorded). */
  body?: unknown;
}

/** Bounded, append-only call log. */
export class CallLog {
  private records: CallRecord[] = [];
  private seq = 0;

  constructor(private readonly max = 10_000) {}

  add(record: Omit<CallRecord, 'seq'>): void {
    this.records.push({ seq: ++this.seq, ...record });
    if (this.records.length > this.max) this.records.splice(0, this.records.length - this.max);
  }

  /** A copy of the records, optionally only those matching `operation`. */
  list(filter?: { operation?: string; since?: number }): CallRecord[] {
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
