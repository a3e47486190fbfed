import t from 'tap';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { createTenant } from '../../src/admin/tenants.js';
import { up as scrubTicketUrls } from '../../src/db/migrations/0005-scrub-ticket-urls.js';
import { testDatabase } from '../helpers/db.js';

t.test('0005 drops password-change ticket URLs stored in the clear, keeping that one was issued', async (t) => {
  const database = await testDatabase(t);
  const { tenant } = await createTenant(database.db, { name: 'acme' });
  const [withTicket, withInvitation] = [uuidv7(), uuidv7()];
  const applied = (onboarding: Record<string, unknown>) => JSON.stringify({ blocked: false, organizations: [], tenantRoles: [], onboarding });
  await sql`insert into user_sync (tenant_id, user_id, status, changed_at, applied) values
    (${tenant.id}, ${withTicket}, 'synced', now(), ${applied({ kind: 'password-ticket', ticketUrl: 'https://x.auth0.com/lo/reset?ticket=secret#' })}::jsonb),
    (${tenant.id}, ${withInvitation}, 'synced', now(), ${applied({ kind: 'invitation', invitationId: 'uinv_1' })}::jsonb)`.execute(database.db);

  await scrubTicketUrls(database.db);
  const { rows } = await sql<{ user_id: string; onboarding: Record<string, unknown> }>`
    select user_id, applied -> 'onboarding' as onboarding from user_sync where tenant_id = ${tenant.id}`.execute(database.db);
  const byId = new Map(rows.map((r) => [r.user_id, r.onboarding]));
  t.same(byId.get(withTicket), { kind: 'password-ticket', ticketIssued: true });
  t.same(byId.get(withInvitation), { kind: 'invitation', invitationId: 'uinv_1' }, 'other onboarding records are untouched');
});
