import type { Kysely } from 'kysely';
import { allUserIds } from '../db/directory.js';
import type { Database } from '../db/schema.js';
import { markUsersChanged, saveSyncConfig } from '../db/sync.js';
import type { SecretBox } from '../secrets.js';
import { parseSyncConfig, sealBindingSecrets, SyncConfigError, type SyncConfig } from './config.js';
import type { SyncQueue } from './queue.js';
import { forgetSyncConfig } from './sync-user.js';

/**
 * Binds a tenant to Auth0 (or changes its binding/rules): validates and stores the configuration, creates
 * the tenant's queue and enqueues every directory user in the same transaction — the initial import, or
 * the re-evaluation a rules change needs.
 */
export async function bindTenant(
  db: Kysely<Database>,
  queue: SyncQueue,
  tenantId: string,
  input: { binding: unknown; rules?: unknown; guard?: unknown },
  secrets?: SecretBox,
): Promise<SyncConfig> {
  const parsed = parseSyncConfig(input);
  const needsKey = parsed.binding.connections.some((c) => c.scim?.sealedToken.startsWith('plain:'));
  if (needsKey && !secrets) throw new SyncConfigError('storing an inbound SCIM token needs PROVISIO_ENCRYPTION_KEY (32 bytes, base64)');
  const config = secrets ? { ...parsed, binding: sealBindingSecrets(parsed.binding, (plain) => secrets.seal(plain)) } : parsed;
  await queue.ensureTenantQueue(tenantId);
  await db.transaction().execute(async (trx) => {
    await saveSyncConfig(trx, tenantId, config as unknown as { binding: Record<string, unknown>; rules: Record<string, unknown>; guard: Record<string, unknown> });
    const ids = await allUserIds(trx, tenantId);
    await markUsersChanged(trx, tenantId, ids);
    await queue.enqueue(trx, tenantId, ids);
  });
  forgetSyncConfig(tenantId);
  return config;
}
