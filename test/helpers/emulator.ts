import { sql, type Kysely } from 'kysely';
import type { RunningAuth0Emulator } from '../../src/auth0/emulator/server.js';
import type { Database } from '../../src/db/schema.js';

/** The emulator's org by name, with its members and their role names (what a test checks after a sync). */
export function emulatorOrg(emulator: RunningAuth0Emulator, name: string): { id: string; members: Map<string, string[]> } | undefined {
  const state = emulator.emulator.snapshot();
  const org = state.organizations.find((o) => o.name === name);
  if (!org) return undefined;
  const roleName = new Map(state.roles.map((r) => [r.id, r.name]));
  return { id: org.id, members: new Map(org.members.map((m) => [m.user_id, m.roles.map((r) => roleName.get(r) ?? r).sort()])) };
}

/** The emulator's user with this email, if any. */
export function emulatorUser(emulator: RunningAuth0Emulator, email: string): Record<string, unknown> | undefined {
  return emulator.emulator.snapshot().users.find((u) => u.email === email) as Record<string, unknown> | undefined;
}

/**
 * Waits until no directory user is pending and no sync job is queued, retrying or running. Counts the
 * jobs in pg-boss's table (its queue counts are a cache its monitor refreshes, so they go stale).
 */
export async function settleSync(db: Kysely<Database>, queueSchema: string, tenantIds: readonly string[] | undefined, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tenants = tenantIds ?? (await sql<{ tenant_id: string }>`select tenant_id from tenant_sync_config`.execute(db)).rows.map((r) => r.tenant_id);
    const { rows } = await sql<{ n: string }>`select count(*) as n from user_sync where status = 'pending'
      and tenant_id = any(${tenants}::uuid[])`.execute(db);
    const { rows: jobs } = await sql<{ n: string }>`select count(*) as n from ${sql.table(`${queueSchema}.job`)}
      where name = 'sync' and group_id = any(${tenants}::text[]) and state in ('created', 'retry', 'active')`.execute(db);
    const pending = Number(rows[0]?.n ?? 0);
    const busy = Number(jobs[0]?.n ?? 0);
    if (pending === 0 && busy === 0) return;
    if (Date.now() > deadline) throw new Error(`sync did not settle: ${pending} pending, ${busy} queued/active`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
