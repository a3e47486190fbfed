import type { FastifyBaseLogger } from 'fastify';
import type { Kysely, Transaction } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { insertAudit } from '../db/audit.js';
import type { Database } from '../db/schema.js';
import type { AdminPrincipal } from './auth.js';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Records an admin write of a tenant (who did what to whom) in the write's own transaction, so the trail
 * never claims an action that did not happen. Never holds secrets.
 */
export async function recordAudit(
  db: Db, tenantId: string, principal: AdminPrincipal, action: string, target: string | null, detail: Record<string, unknown> = {},
): Promise<void> {
  await insertAudit(db, { tenantId, id: uuidv7(), actor: principal.actor, action, target, detail });
}

/**
 * Records the audit entry of a write that committed in its own transaction (a service call such as a
 * bind or an Auth0 invitation). The write has happened, so a failure here must not answer "not applied":
 * it is logged as an error for the operator instead.
 */
export async function auditAfterCommit(
  db: Db, log: FastifyBaseLogger, tenantId: string, principal: AdminPrincipal, action: string, target: string | null, detail: Record<string, unknown> = {},
): Promise<void> {
  try {
    await recordAudit(db, tenantId, principal, action, target, detail);
  } catch (err) {
    log.error({ err, tenantId, action, target, actor: principal.actor }, 'admin audit entry not recorded');
  }
}
