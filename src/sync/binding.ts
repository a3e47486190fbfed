import type { Kysely } from 'kysely';
import { allUserIds } from '../db/directory.js';
import type { Database } from '../db/schema.js';
import { findSyncConfig, markUsersChanged, saveSyncConfig, type StoredSyncConfig } from '../db/sync.js';
import type { SecretBox } from '../secrets.js';
import { parseSyncConfig, sealBindingSecrets, SyncConfigError, type SyncConfig } from './config.js';
import type { SyncQueue } from './queue.js';
import { forgetSyncConfig } from './sync-user.js';

/** A binding document: `{ binding, rules?, guard? }` as in docs/sync.md. */
export type BindingInput = { binding: unknown; rules?: unknown; guard?: unknown };

/**
 * Binds a tenant to Auth0 (or changes its binding/rules): validates and stores the configuration and
 * enqueues every directory user in the same transaction — the initial import, or
 * the re-evaluation a rules change needs. `input` may be a function of the stored configuration: it runs
 * inside the transaction with the tenant's row locked, so a rules change and a binding change made at the
 * same moment cannot overwrite each other with a stale copy.
 */
export async function bindTenant(
  db: Kysely<Database>,
  queue: SyncQueue,
  tenantId: string,
  input: BindingInput | ((stored: StoredSyncConfig | undefined) => BindingInput),
  secrets?: SecretBox,
): Promise<SyncConfig> {
  const config = await db.transaction().execute(async (trx) => {
    await trx.selectFrom('tenants').select('id').where('id', '=', tenantId).forUpdate().executeTakeFirst();
    const document = typeof input === 'function' ? input(await findSyncConfig(trx, tenantId)) : input;
    const parsed = parseSyncConfig(document);
    const needsKey = parsed.binding.connections.some((c) => c.scim?.sealedToken.startsWith('plain:'));
    if (needsKey && !secrets) throw new SyncConfigError('storing an inbound SCIM token needs PROVISIO_ENCRYPTION_KEY (32 bytes, base64)');
    const sealed = secrets ? { ...parsed, binding: sealBindingSecrets(parsed.binding, (plain) => secrets.seal(plain)) } : parsed;
    await saveSyncConfig(trx, tenantId, sealed as unknown as StoredSyncConfig);
    const ids = await allUserIds(trx, tenantId);
    await markUsersChanged(trx, tenantId, ids);
    await queue.enqueue(trx, tenantId, ids);
    return sealed;
  });
  forgetSyncConfig(tenantId);
  return config;
}
