/**
 * A log of every request an emulator received, for tests that assert which calls a client made. Both
 * emulators keep the same record, so `/__emulator/calls` reads the same on each; what a write's body
 * keeps (its secrets removed) is each emulator's own `loggableBody`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FaultKind } from './faults.js';

/** One request as the log keeps it. */
export interface CallRecord {
  seq: number;
  /** ISO time the request arrived. */
  at: string;
  method: string;
  /** Request URL as received (path + query). */
  url: string;
  /** `METHOD /path-template` of the matched operation (or the emulator's name for it), undefined for unknown paths. */
  operation?: string;
  /** Response status; 0 when the connection was reset or left unanswered by injection. */
  status: number;
  /** The calling client (an Auth0 M2M client, an Okta service app; absent for Okta `SSWS` calls). */
  client_id?: string;
  duration_ms: number;
  /** Injected fault, if any. */
  fault?: FaultKind;
  /** Parsed body of write requests, secrets removed. */
  body?: unknown;
}

/** Which records `CallLog.list` returns. */
export interface CallFilter {
  /** Only calls of this operation. */
  operation?: string;
  /** Only calls with a larger `seq` (newer than a `CallLog.last` read earlier). */
  since?: number;
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

  /** A copy of the records, optionally only those of `operation` or newer than `since`. */
  list(filter?: CallFilter): CallRecord[] {
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

/** The filter of `GET /__emulator/calls?operation=…&since=…`; malformed parameters are ignored. */
export function callFilter(query: unknown): CallFilter {
  const q = typeof query === 'object' && query !== null ? (query as Record<string, unknown>) : {};
  const filter: CallFilter = {};
  if (typeof q['operation'] === 'string') filter.operation = q['operation'];
  if (typeof q['since'] === 'string' && /^\d+$/.test(q['since'])) filter.since = Number(q['since']);
  return filter;
}

/** What an emulator knows of an answered request beyond what Fastify does. */
export interface AnsweredCall {
  operation: string | undefined;
  clientId: string | undefined;
  fault: FaultKind | undefined;
  /** What the log keeps of a write's body. */
  loggableBody(operation: string | undefined, body: unknown): unknown;
}

/** Logs an answered request from an `onResponse` hook; `now` is the emulator's clock when it answered. */
export function recordAnsweredCall(calls: CallLog, request: FastifyRequest, reply: FastifyReply, now: number, call: AnsweredCall): void {
  const record: Omit<CallRecord, 'seq'> = {
    at: new Date(now - reply.elapsedTime).toISOString(),
    method: request.method,
    url: request.url,
    status: reply.statusCode,
    duration_ms: Math.round(reply.elapsedTime),
  };
  if (call.operation !== undefined) record.operation = call.operation;
  if (call.clientId !== undefined) record.client_id = call.clientId;
  if (call.fault) record.fault = call.fault;
  if (request.method !== 'GET' && request.body !== undefined) record.body = call.loggableBody(call.operation, request.body);
  calls.add(record);
}
