import { randomBytes } from 'node:crypto';
import t from 'tap';
import { sql } from 'kysely';
import { createTenant } from '../../src/admin/tenants.js';
import { failPendingDeliveries, findWebhookEndpoint, markAttemptFailed, updateWebhookEndpoint } from '../../src/db/webhooks.js';
import { createEndpoint } from '../../src/events/endpoints.js';
import { SecretBox } from '../../src/secrets.js';
import { testDatabase } from '../helpers/db.js';

t.test('an attempt that answers after its delivery was given up does not start a failure streak on the endpoint', async (t) => {
  const { db } = await testDatabase(t);
  const { tenant } = await createTenant(db, { name: 'acme' });
  const box = SecretBox.fromKey(randomBytes(32).toString('base64'));
  const { endpoint } = await createEndpoint(db, box, { allowHttp: false, allowedNetworks: ['127.0.0.0/8'] }, { tenantId: tenant.id, url: 'https://127.0.0.1:9/hooks' });
  const delivery = { endpointId: endpoint.id, tenantId: tenant.id, eventRow: '1' };
  await sql`insert into webhook_deliveries (endpoint_id, tenant_id, event_row, seq, subject) values (${endpoint.id}, ${tenant.id}, 1, 1, 'user:a')`.execute(db);

  // The endpoint is disabled while an attempt is on its way: the delivery is given up, then the operator enables it again.
  await updateWebhookEndpoint(db, endpoint.id, { enabled: false, disabledReason: 'no successful delivery' });
  t.equal(await failPendingDeliveries(db, endpoint.id, 'endpoint disabled'), 1);
  await updateWebhookEndpoint(db, endpoint.id, { enabled: true, disabledReason: null });
  // The attempt's 500 comes back now.
  const late = await markAttemptFailed(db, delivery, { status: 500, error: 'answered 500', retryAt: new Date(Date.now() + 60_000) });
  t.equal(late.failingSince, null, 'no streak reported to the worker, which would disable the endpoint');
  t.equal((await findWebhookEndpoint(db, endpoint.id))!.failing_since, null, 'and none stored');
  const { rows } = await sql<{ state: string; attempts: number }>`select state, attempts from webhook_deliveries`.execute(db);
  t.same(rows, [{ state: 'failed', attempts: 0 }], 'the given-up delivery is left as it was');

  // An attempt at a delivery still owed does start it.
  await sql`insert into webhook_deliveries (endpoint_id, tenant_id, event_row, seq, subject) values (${endpoint.id}, ${tenant.id}, 2, 2, 'user:b')`.execute(db);
  const owed = await markAttemptFailed(db, { ...delivery, eventRow: '2' }, { status: 500, error: 'answered 500', retryAt: null });
  t.ok(owed.failingSince instanceof Date, 'a failed attempt at an owed delivery starts the streak');
  t.same((await findWebhookEndpoint(db, endpoint.id))!.failing_since, owed.failingSince);
});
