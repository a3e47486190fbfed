import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, StoredWebhookSecret } from '../db/schema.js';
import { EVENT_TYPES } from '../db/events.js';
import {
  findWebhookEndpoint, insertWebhookEndpoint, updateWebhookEndpoint, type DeliveryWithEvent, type WebhookEndpointRow,
} from '../db/webhooks.js';
import type { SecretBox } from '../secrets.js';
import { checkDestinationUrl, DestinationError, type DestinationPolicy } from './destination.js';

/** A refused endpoint change: the message names the field (a 400 in the admin API, an error in the CLI). */
export class EndpointError extends Error {
  override name = 'EndpointError';
  constructor(message: string, readonly status: 400 | 404 | 409 = 400) {
    super(message);
  }
}

/** A signing secret in the Standard Webhooks form: `whsec_` and 32 random bytes in base64. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The secrets that sign now: the current one and rotated ones whose overlap has not ended. */
export function activeSecrets(stored: readonly StoredWebhookSecret[], box: SecretBox, now = new Date()): string[] {
  return stored.filter((s) => !s.expiresAt || new Date(s.expiresAt) > now).map((s) => box.open(s.sealed));
}

function needBox(box: SecretBox | undefined): SecretBox {
  if (!box) throw new EndpointError('Webhook signing secrets are stored encrypted: set PROVISIO_ENCRYPTION_KEY (32 bytes, base64 or hex) to use webhooks', 409);
  return box;
}

export function checkEventTypes(types: readonly string[] | undefined): string[] {
  const list = [...new Set(types ?? [])];
  const unknown = list.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0) throw new EndpointError(`eventTypes: unknown event type(s) ${unknown.join(', ')}; known: ${EVENT_TYPES.join(', ')}`);
  return list;
}

function checkUrl(url: unknown, policy: DestinationPolicy): string {
  if (typeof url !== 'string' || url.length === 0) throw new EndpointError('url: required');
  if (url.length > 2000) throw new EndpointError('url: at most 2,000 characters');
  try {
    return checkDestinationUrl(url, policy).toString();
  } catch (err) {
    if (err instanceof DestinationError) throw new EndpointError(`url: ${err.message}`);
    throw err;
  }
}

export interface EndpointInput {
  /** The tenant whose events it receives; absent for every tenant's. */
  readonly tenantId?: string;
  readonly url: string;
  readonly description?: string;
  readonly eventTypes?: readonly string[];
}

/** Creates an endpoint; the signing secret is returned once and stored sealed. */
export async function createEndpoint(
  db: Kysely<Database>, box: SecretBox | undefined, policy: DestinationPolicy, input: EndpointInput,
): Promise<{ endpoint: WebhookEndpointRow; secret: string }> {
  const sealer = needBox(box);
  const url = checkUrl(input.url, policy);
  const eventTypes = checkEventTypes(input.eventTypes);
  const secret = newSigningSecret();
  const endpoint = await insertWebhookEndpoint(db, {
    id: randomUUID(),
    tenantId: input.tenantId ?? null,
    url,
    description: input.description?.slice(0, 500) ?? null,
    eventTypes,
    secrets: [{ sealed: sealer.seal(secret), createdAt: new Date().toISOString() }],
  });
  return { endpoint, secret };
}

export interface EndpointChanges {
  readonly url?: string;
  readonly description?: string | null;
  readonly eventTypes?: readonly string[];
  readonly enabled?: boolean;
}

export async function changeEndpoint(db: Kysely<Database>, policy: DestinationPolicy, id: string, changes: EndpointChanges): Promise<WebhookEndpointRow> {
  const updated = await updateWebhookEndpoint(db, id, {
    ...(changes.url !== undefined ? { url: checkUrl(changes.url, policy) } : {}),
    ...(changes.description !== undefined ? { description: changes.description?.slice(0, 500) ?? null } : {}),
    ...(changes.eventTypes !== undefined ? { eventTypes: checkEventTypes(changes.eventTypes) } : {}),
    ...(changes.enabled !== undefined ? { enabled: changes.enabled } : {}),
  });
  if (!updated) throw new EndpointError(`Webhook endpoint ${id} not found`, 404);
  return updated;
}

/**
 * A new signing secret. The previous ones keep signing for `overlapSeconds` (each delivery then carries
 * one signature per secret), so a receiver can switch to the new secret at its own pace; 0 ends them now.
 */
export async function rotateSecret(
  db: Kysely<Database>, box: SecretBox | undefined, id: string, overlapSeconds: number,
): Promise<{ endpoint: WebhookEndpointRow; secret: string; previousExpireAt: Date }> {
  const sealer = needBox(box);
  // Read and written under the row's lock (in the caller's transaction, or one of its own): two rotations
  // at once must not lose a secret.
  const inTransaction = <T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> => (db.isTransaction ? work(db) : db.transaction().execute(work));
  return inTransaction(async (trx) => {
    const endpoint = await findWebhookEndpoint(trx, id, { forUpdate: true });
    if (!endpoint) throw new EndpointError(`Webhook endpoint ${id} not found`, 404);
    const now = new Date();
    const until = new Date(now.getTime() + overlapSeconds * 1000);
    const kept = endpoint.secrets
      .filter((s) => !s.expiresAt || new Date(s.expiresAt) > now)
      .map((s) => ({ ...s, expiresAt: s.expiresAt && new Date(s.expiresAt) < until ? s.expiresAt : until.toISOString() }))
      .filter((s) => new Date(s.expiresAt) > now);
    const secret = newSigningSecret();
    const updated = await updateWebhookEndpoint(trx, id, { secrets: [{ sealed: sealer.seal(secret), createdAt: now.toISOString() }, ...kept] });
    if (!updated) throw new EndpointError(`Webhook endpoint ${id} not found`, 404);
    return { endpoint: updated, secret, previousExpireAt: until };
  });
}

/** The endpoint as the admin API and the CLI show it: never a secret, only when each was made and ends. */
export function describeEndpoint(row: WebhookEndpointRow, counts?: { pending: number; failed: number }) {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    url: row.url,
    description: row.description,
    eventTypes: row.event_types,
    status: row.enabled ? (row.failing_since ? 'failing' : 'enabled') : 'disabled',
    ...(row.disabled_reason && !row.enabled ? { disabledReason: row.disabled_reason } : {}),
    failingSince: row.failing_since?.toISOString() ?? null,
    lastSuccessAt: row.last_success_at?.toISOString() ?? null,
    secrets: row.secrets.map((s) => ({ createdAt: s.createdAt, ...(s.expiresAt ? { expiresAt: s.expiresAt } : {}) })),
    ...(counts ? { pending: counts.pending, failed: counts.failed } : {}),
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/** A delivery as the admin API and the CLI list it. */
export function describeDelivery(d: DeliveryWithEvent) {
  return {
    eventId: d.event?.id ?? null,
    type: d.event?.type ?? null,
    sequence: d.sequence,
    tenant: { id: d.tenantId, name: d.tenantName },
    state: d.state,
    attempts: d.attempts,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    nextAttemptAt: d.nextAttemptAt.toISOString(),
    createdAt: d.createdAt.toISOString(),
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
  };
}
