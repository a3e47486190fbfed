import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';
import { pruneLogOlderThan } from './log-prune.js';

type Db = Kysely<Database> | Transaction<Database>;

/** One Auth0 Management API call as a user's history keeps it: never an id, a body or a token. */
export interface HistoryCall {
  /** The operation template, `PATCH /api/v2/users/{id}`. */
  readonly operation: string;
  /** The HTTP status; null when none came back. */
  readonly status: number | null;
  /** `timeout`, `network` or `error` when no HTTP status came back. */
  readonly failure: string | null;
  readonly durationMs: number;
  /** When the call started, in ms after the run or decision started (a 429's wait shows as the gap to its retry). */
  readonly atMs: number;
  /** The member batcher sent this one request for several users' jobs (src/sync/member-batcher.ts). */
  readonly batchedUsers?: number;
}

/** A sync job run or a login decision to store. */
export interface NewUserHistoryEntry {
  readonly tenantId: string;
  /** A UUID or null: the column is `uuid`, and one bad value would fail the whole batch. */
  readonly userId: string | null;
  readonly auth0UserId: string | null;
  readonly kind: 'sync' | 'login' | 'okta';
  /** When the run ended or the decision was answered. */
  readonly at: Date;
  readonly outcome: string;
  readonly detail: string | null;
  readonly durationMs: number | null;
  readonly attempt: number | null;
  readonly facts: Record<string, unknown> | null;
  readonly calls: readonly HistoryCall[];
  readonly callsOmitted: number;
}

/** A stored entry as the timeline reads it. */
export interface UserHistoryRecord extends Omit<NewUserHistoryEntry, 'tenantId'> {
  readonly id: string;
}

/*
 * One statement per batch, as for the SCIM request trail (src/db/scim-requests.ts): one array parameter per
 * column, unnested back into rows in the batch's order. JSON travels as text (an array of `jsonb` is not
 * something both drivers pass alike). Joining `tenants` drops the rows of a tenant deleted meanwhile
 * instead of failing the batch.
 */
const INSERT_HISTORY = `insert into user_history (tenant_id, at, user_id, auth0_user_id, kind, outcome, detail, duration_ms, attempt, facts, calls, calls_omitted)
  select t.id, r.at, r.user_id, r.auth0_user_id, r.kind, r.outcome, r.detail, r.duration_ms, r.attempt, r.facts::jsonb, r.calls::jsonb, r.calls_omitted
  from unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float4[], $9::int2[], $10::text[],
    $11::text[], $12::int4[]) with ordinality
    as r(tenant_id, at, user_id, auth0_user_id, kind, outcome, detail, duration_ms, attempt, facts, calls, calls_omitted, n)
  join tenants t on t.id = r.tenant_id
  order by r.n`;

/** Stores `rows` in one statement; returns how many were stored (rows of deleted tenants are not). */
export async function insertUserHistory(db: Db, rows: readonly NewUserHistoryEntry[]): Promise<number> {
  if (rows.length === 0) return 0;
  const column = <T>(pick: (row: NewUserHistoryEntry) => T): T[] => rows.map(pick);
  const result = await db.executeQuery(CompiledQuery.raw(INSERT_HISTORY, [
    column((r) => r.tenantId), column((r) => r.at.toISOString()), column((r) => r.userId), column((r) => r.auth0UserId),
    column((r) => r.kind), column((r) => r.outcome), column((r) => r.detail), column((r) => r.durationMs), column((r) => r.attempt),
    column((r) => (r.facts ? JSON.stringify(r.facts) : null)), column((r) => (r.calls.length > 0 ? JSON.stringify(r.calls) : null)),
    column((r) => r.callsOmitted),
  ]));
  return Number(result.numAffectedRows ?? 0n);
}

/*
 * The user's own rows, and the logins of its Auth0 user recorded before the directory knew who that was
 * (a denied login of someone the IdP had not assigned yet): each through its own partial index.
 */
const USER_HISTORY = `(select id, at, user_id, auth0_user_id, kind, outcome, detail, duration_ms, attempt, facts, calls, calls_omitted
    from user_history where tenant_id = $1 and user_id = $2 order by id desc limit $3)
  union all
  (select id, at, user_id, auth0_user_id, kind, outcome, detail, duration_ms, attempt, facts, calls, calls_omitted
    from user_history where tenant_id = $1 and user_id is null
      and auth0_user_id = (select s.auth0_user_id from user_sync s where s.tenant_id = $1 and s.user_id = $2)
    order by id desc limit $3)`;

interface HistoryRow {
  id: string | number;
  at: Date | string;
  user_id: string | null;
  auth0_user_id: string | null;
  kind: 'sync' | 'login';
  outcome: string;
  detail: string | null;
  duration_ms: number | null;
  attempt: number | null;
  facts: Record<string, unknown> | null;
  calls: HistoryCall[] | null;
  calls_omitted: number;
}

/** A user's newest `limit` sync runs and login decisions (and as many unattributed logins of its Auth0 user), newest first. */
export async function listUserHistory(db: Db, tenantId: string, userId: string, limit: number): Promise<UserHistoryRecord[]> {
  const { rows } = await db.executeQuery<HistoryRow>(CompiledQuery.raw(USER_HISTORY, [tenantId, userId, limit]));
  return rows
    .map((r) => ({
      id: String(r.id), at: new Date(r.at), userId: r.user_id, auth0UserId: r.auth0_user_id, kind: r.kind, outcome: r.outcome, detail: r.detail,
      durationMs: r.duration_ms, attempt: r.attempt, facts: r.facts, calls: r.calls ?? [], callsOmitted: r.calls_omitted,
    }))
    .sort((a, b) => b.at.getTime() - a.at.getTime());
}

/** Deletes every entry older than `cutoff`, as the SCIM request trail is pruned (`pruneLogOlderThan`). */
export function pruneUserHistory(db: Db, cutoff: Date, batchSize = 10_000, stopped: () => boolean = () => false): Promise<number> {
  return pruneLogOlderThan(db, 'user_history', cutoff, batchSize, stopped);
}
