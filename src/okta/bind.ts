import { sql, type Kysely } from 'kysely';
import { deleteOktaBinding, findOktaBinding, retryFailedMirrors, saveOktaBinding } from '../db/okta.js';
import type { Database } from '../db/schema.js';
import { findSyncConfig } from '../db/sync.js';
import type { SecretBox } from '../secrets.js';
import { SyncConfigError } from '../sync/config.js';
import { parseOktaBinding, sealOktaSecrets, type OktaBinding } from './binding.js';
import { forgetOktaBinding } from './mirror-config.js';
import type { OktaQueue } from './queue.js';

/**
 * Users a (re)binding mirrors: every user the Auth0 sync has provisioned (or deprovisioned after
 * provisioning), and every user already linked in Okta.
 */
async function usersToMirror(db: Kysely<Database>, tenantId: string): Promise<string[]> {
  const { rows } = await sql<{ user_id: string }>`
    select user_id from user_sync where tenant_id = ${tenantId} and auth0_user_id is not null and status in ('synced', 'deleted')
    union select user_id from okta_mirror where tenant_id = ${tenantId} and okta_user_id is not null`.execute(db);
  return rows.map((r) => r.user_id);
}

/**
 * Binds a tenant to an Okta org (or changes its binding): validates, seals the credentials, stores, and
 * queues every user already provisioned into Auth0 in the same transaction — the initial mirror, or the
 * re-evaluation a mapping or group-rule change needs. The tenant must already sync to Auth0: Okta mirrors
 * what Provisio materialises there. `input` may be a function of the stored document (a partial update),
 * run with the tenant's row locked.
 */
export async function bindOkta(
  db: Kysely<Database>,
  queue: OktaQueue | undefined,
  tenantId: string,
  input: unknown | ((stored: Record<string, unknown> | undefined) => unknown),
  options: { secrets?: SecretBox; production?: boolean } = {},
): Promise<{ binding: OktaBinding; queued: number }> {
  const result = await db.transaction().execute(async (trx) => {
    await trx.selectFrom('tenants').select('id').where('id', '=', tenantId).forUpdate().executeTakeFirst();
    if (!(await findSyncConfig(trx, tenantId))) throw new SyncConfigError('bind the tenant to Auth0 first (`provisio tenant bind`): the Okta mirror copies the users Provisio provisions into Auth0');
    const stored = await findOktaBinding(trx, tenantId);
    const document = typeof input === 'function' ? (input as (s: Record<string, unknown> | undefined) => unknown)(stored) : input;
    // Sealed credentials are accepted only as they are stored (a partial update carrying them over); a
    // submitted document carries plain ones, sealed here, so nobody stores a "sealed" value we cannot open.
    const keepsStoredAuth = stored?.auth !== undefined && JSON.stringify((document as { auth?: unknown } | null)?.auth) === JSON.stringify(stored.auth);
    const parsed = parseOktaBinding(document, { production: options.production ?? false, acceptSealed: keepsStoredAuth });
    const sealed = sealOktaSecrets(parsed, options.secrets ? (plain) => options.secrets!.seal(plain) : undefined);
    await saveOktaBinding(trx, tenantId, sealed as unknown as Record<string, unknown>);
    const ids = queue ? await usersToMirror(trx as unknown as Kysely<Database>, tenantId) : [];
    await queue?.enqueue(trx, tenantId, ids);
    return { binding: sealed, queued: ids.length };
  });
  forgetOktaBinding(tenantId);
  return result;
}

/** Stops mirroring the tenant; Okta users already created stay as they are (and their links are kept). */
export async function unbindOkta(db: Kysely<Database>, tenantId: string): Promise<boolean> {
  const removed = await deleteOktaBinding(db, tenantId);
  forgetOktaBinding(tenantId);
  return removed;
}

/** Makes the tenant's failed mirrors (or those of `userIds`) pending again and queues them, in one transaction; returns how many. */
export async function retryOktaMirrors(db: Kysely<Database>, queue: OktaQueue, tenantId: string, userIds?: readonly string[]): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const ids = await retryFailedMirrors(trx, tenantId, userIds);
    await queue.enqueue(trx, tenantId, ids);
    return ids.length;
  });
}
