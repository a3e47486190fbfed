import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';

/**
 * VACUUM and ANALYZE where nothing else does them: the embedded PGlite is PostgreSQL in single-user mode,
 * which runs no background workers, so no autovacuum. Without it every table Provisio churns (the event
 * outbox rewrites each row once when it numbers it, the audit trail and the job queue delete what they
 * prune) only ever grows, because freed space is reused only after a VACUUM, and the planner keeps the
 * statistics of the empty tables it started with: a deep page of 8,000 users sorted all of them instead of
 * reading the primary key (39 ms instead of a few).
 *
 * A pass does what autovacuum would: a table is vacuumed when its dead rows, or its rows inserted since
 * the last vacuum, pass autovacuum's threshold (`autovacuum_vacuum_threshold` + scale factor × rows, read
 * from the server's own settings), and analyzed when its changes since the last analyze pass
 * `autovacuum_analyze_threshold` + scale factor × rows. Only the tables of the current schema (the app's)
 * and of `schemas` (the job queue's) are kept.
 */

export interface TableDue {
  readonly schema: string;
  readonly table: string;
  readonly vacuum: boolean;
}

/** The tables of the current schema and `schemas` that autovacuum's rules say are due; `vacuum: false` means ANALYZE only. */
export async function tablesDue(db: Kysely<any>, schemas: readonly string[]): Promise<TableDue[]> {
  // reltuples is -1 until a table was first vacuumed or analyzed (PostgreSQL 14+): count it as empty.
  const { rows } = await sql<{ schema: string; table: string; vacuum: boolean }>`
    with s as (
      select current_setting('autovacuum_vacuum_threshold')::float8 as vt,
             current_setting('autovacuum_vacuum_scale_factor')::float8 as vs,
             current_setting('autovacuum_vacuum_insert_threshold')::float8 as it,
             current_setting('autovacuum_vacuum_insert_scale_factor')::float8 as "is",
             current_setting('autovacuum_analyze_threshold')::float8 as at,
             current_setting('autovacuum_analyze_scale_factor')::float8 as "as"
    ), t as (
      select st.schemaname, st.relname, st.n_dead_tup, st.n_ins_since_vacuum, st.n_mod_since_analyze, greatest(c.reltuples, 0) as n
      from pg_stat_user_tables st join pg_class c on c.oid = st.relid
      where (st.schemaname = current_schema() or st.schemaname = any(${[...schemas]}::text[])) and c.relkind = 'r'
    )
    select schema, "table", vacuum from (
      select t.schemaname as schema, t.relname as "table",
             t.n_dead_tup > s.vt + s.vs * t.n or (s.it >= 0 and t.n_ins_since_vacuum > s.it + s."is" * t.n) as vacuum,
             t.n_mod_since_analyze > s.at + s."as" * t.n as analyze_due
      from t, s
    ) due
    where vacuum or analyze_due
    order by schema, "table"`.execute(db);
  return rows;
}

/** Vacuums (and analyzes) or analyzes each table that is due, one at a time; returns what it did. */
export async function maintainTables(db: Kysely<any>, schemas: readonly string[], stopped: () => boolean = () => false): Promise<TableDue[]> {
  const done: TableDue[] = [];
  for (const due of await tablesDue(db, schemas)) {
    if (stopped()) break;
    const table = sql.table(`${due.schema}.${due.table}`);
    // VACUUM cannot run in a transaction block: each is a statement of its own, outside any transaction.
    await (due.vacuum ? sql`vacuum (analyze) ${table}` : sql`analyze ${table}`).execute(db);
    done.push(due);
  }
  return done;
}

export interface TableMaintenanceOptions {
  readonly db: Kysely<any>;
  readonly logger: Logger;
  /** Schemas kept besides the current one: the job queue's. */
  readonly schemas: readonly string[];
  /** Between passes; autovacuum's own default nap is a minute. */
  readonly intervalMs?: number;
}

/** Runs `maintainTables` every `intervalMs` in the background (the embedded database's autovacuum). */
export class TableMaintenance {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<unknown> | undefined;
  private stopped = false;
  private readonly intervalMs: number;

  constructor(private readonly options: TableMaintenanceOptions) {
    this.intervalMs = options.intervalMs ?? 60_000;
  }

  start(): void {
    if (!this.stopped && !this.timer) this.schedule();
  }

  /** One pass now: the tables vacuumed or analyzed. */
  async runOnce(): Promise<TableDue[]> {
    const started = Date.now();
    const done = await maintainTables(this.options.db, this.options.schemas, () => this.stopped);
    if (done.length > 0) {
      this.options.logger.debug({ vacuumed: done.filter((d) => d.vacuum).map((d) => d.table), analyzed: done.filter((d) => !d.vacuum).map((d) => d.table), ms: Date.now() - started }, 'embedded database maintenance');
    }
    return done;
  }

  /** Stops the schedule and waits for a pass in progress (it stops between tables). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.current = this.runOnce().catch((err: unknown) => {
        this.options.logger.warn({ err }, 'embedded database maintenance (VACUUM, ANALYZE) failed; trying again at the next interval');
      }).finally(() => {
        this.current = undefined;
        if (!this.stopped) this.schedule();
      });
    }, this.intervalMs);
    this.timer.unref();
  }
}

/**
 * On PostgreSQL, vacuuming is the server's job: a warning when its autovacuum is off, because then
 * Provisio's tables grow without bound and its query plans go stale unless the operator vacuums them.
 */
export async function autovacuumWarning(db: Kysely<any>): Promise<string | undefined> {
  const { rows } = await sql<{ autovacuum: string; track_counts: string }>`
    select current_setting('autovacuum') as autovacuum, current_setting('track_counts') as track_counts`.execute(db);
  const off = rows[0]?.autovacuum !== 'on' ? 'autovacuum' : rows[0]?.track_counts !== 'on' ? 'track_counts' : undefined;
  if (!off) return undefined;
  return `${off} is off on this PostgreSQL, so nothing vacuums or analyzes Provisio's tables: the event outbox, the audit trail and the job queue grow without bound and query plans go stale; turn it on, or run VACUUM ANALYZE on a schedule (docs/operations.md)`;
}
