import { sql, type Kysely } from 'kysely';
import { migrationsApplied } from './migrate.js';

export type DatabaseReadiness = 'ready' | 'migrations pending' | 'database unreachable';

/**
 * The database half of `/readyz`: reachable and migrated, answered within `timeoutMs` whatever the
 * database does (a probe races a timer; an orchestrator's probe must not hang on a blackholed network).
 * One check is in flight at a time: probes arriving while one waits share it, so an unanswering database
 * does not collect a queue of readiness queries. Once migrations are seen applied, `select 1` suffices.
 */
export function databaseReadiness(db: Kysely<any>, timeoutMs = 1500): () => Promise<DatabaseReadiness> {
  let migrated = false;
  let inFlight: Promise<boolean> | undefined;
  const check = async (): Promise<boolean> => {
    if (!migrated) migrated = await migrationsApplied(db);
    else await sql`select 1`.execute(db);
    return migrated;
  };
  return async () => {
    inFlight ??= check().finally(() => { inFlight = undefined; });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(resolve, timeoutMs, 'late'); });
    try {
      const result = await Promise.race([inFlight, late]);
      return result === 'late' ? 'database unreachable' : result ? 'ready' : 'migrations pending';
    } catch {
      return 'database unreachable';
    } finally {
      clearTimeout(timer);
    }
  };
}
