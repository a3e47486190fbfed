import { sql, type Kysely } from 'kysely';

/**
 * Events out (docs/events.md): an outbox of directory and Auth0 events, numbered per tenant, and the
 * webhook endpoints they are delivered to.
 *
 * - `events` rows are written in the transaction of the change that causes them: by triggers on `users`,
 *   `groups` (per row) and `group_members` (per statement: one INSERT … SELECT over the transition table, so
 *   a PATCH of 1,000 members costs one extra statement, not 1,000), so the one-statement SCIM fast paths are
 *   covered without code of their own; and by the sync and login paths for the Auth0 outcomes. No change
 *   without its event, no event without its change.
 * - `seq` is given later by the sequencer (src/events/sequencer.ts) in commit order: identities are handed
 *   out in insert order, not commit order, so a reader paging by id could skip a row that commits late.
 *   `xid` says which transaction wrote the row; the sequencer numbers only rows whose transaction is older
 *   than every transaction still running (pg_snapshot_xmin), and a per-tenant counter in
 *   `event_sequences` keeps the numbers monotonic even after old events are pruned.
 * - No foreign key to tenants (as for `scim_requests`): the triggers skip a tenant being deleted and
 *   deleting a tenant deletes its events (src/db/tenants.ts).
 *
 * Frozen once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table events (
    tenant_id uuid not null,
    id bigint generated always as identity,
    event_id uuid not null default gen_random_uuid(),
    xid xid8 not null default pg_current_xact_id(),
    seq bigint,
    type text not null,
    at timestamptz not null default now(),
    -- Deliveries to one endpoint are in order per subject: the directory user (or group) the event is about.
    subject text not null,
    data jsonb not null,
    primary key (tenant_id, id)
  )`.execute(db);
  // The sequencer's work list, tiny in steady state.
  await sql`create index events_unsequenced on events (id) where seq is null`.execute(db);
  // Replay by pull: a tenant's events after a sequence number.
  await sql`create unique index events_seq on events (tenant_id, seq) where seq is not null`.execute(db);
  await sql`create index events_at_brin on events using brin (at)`.execute(db);

  await sql`create table event_sequences (
    tenant_id uuid primary key references tenants(id) on delete cascade,
    last_seq bigint not null
  )`.execute(db);

  await sql`create table webhook_endpoints (
    id uuid primary key,
    -- null: every tenant's events.
    tenant_id uuid references tenants(id) on delete cascade,
    url text not null,
    description text,
    -- Empty: every event type.
    event_types text[] not null default '{}',
    -- [{ sealed, createdAt, expiresAt? }]: the signing secrets, sealed; a rotated one signs until it expires.
    secrets jsonb not null,
    enabled boolean not null default true,
    disabled_reason text,
    -- Since when no attempt has succeeded (null while healthy): an endpoint failing for too long is disabled.
    failing_since timestamptz,
    last_success_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  )`.execute(db);
  await sql`create index webhook_endpoints_tenant on webhook_endpoints (tenant_id)`.execute(db);

  await sql`create table webhook_deliveries (
    endpoint_id uuid not null references webhook_endpoints(id) on delete cascade,
    tenant_id uuid not null,
    event_row bigint not null,
    seq bigint not null,
    subject text not null,
    state text not null default 'pending' constraint webhook_deliveries_state check (state in ('pending', 'delivered', 'failed')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_status integer,
    last_error text,
    created_at timestamptz not null default now(),
    delivered_at timestamptz,
    primary key (endpoint_id, tenant_id, event_row)
  )`.execute(db);
  // A delivery job drains one endpoint's pending deliveries of one subject, oldest first.
  await sql`create index webhook_deliveries_pending on webhook_deliveries (endpoint_id, subject, tenant_id, seq) where state = 'pending'`.execute(db);
  // The endpoint's delivery list, newest first (all, or of one state).
  await sql`create index webhook_deliveries_listing on webhook_deliveries (endpoint_id, created_at)`.execute(db);
  await sql`create index webhook_deliveries_created_brin on webhook_deliveries using brin (created_at)`.execute(db);

  // Users and groups are written one row per statement (a SCIM request, a bulk operation, a JIT login), so
  // their triggers are per row: cheaper than a statement trigger's transition tables for one row, and an
  // update that changes nothing stored (`when` below) does not even call the function.
  // The user as the product's backend wants it: the stored SCIM document with its id, the effective `active`,
  // and no password (never stored: src/scim/resource.ts). Everything is inline in PL/pgSQL, whose statement
  // plans are cached per session: a SQL-language helper function would be planned again on every call (that
  // cost 60 µs per write, four times the UPDATE itself). The changed names come from one key scan over
  // local copies (a full join of two jsonb_each was twice as slow).
  await sql`create function provisio_user_events() returns trigger language plpgsql as $$
    declare
      changed text[];
      doc jsonb;
      after jsonb;
      before jsonb;
    begin
      if tg_op = 'DELETE' then
        if exists (select 1 from tenants t where t.id = old.tenant_id) then
          insert into events (tenant_id, type, subject, data)
            values (old.tenant_id, 'user.deleted', old.id::text,
                    jsonb_build_object('user', jsonb_build_object('id', old.id, 'userName', old.user_name, 'externalId', old.external_id)));
        end if;
        return null;
      end if;
      after := new.data;
      doc := jsonb_build_object('user', jsonb_build_object('id', new.id, 'userName', new.user_name, 'externalId', new.external_id, 'active', new.active)
        || (after - 'schemas' - 'id' - 'userName' - 'externalId' - 'active' - 'meta'));
      if tg_op = 'INSERT' then
        insert into events (tenant_id, type, subject, data) values (new.tenant_id, 'user.created', new.id::text, doc);
        return null;
      end if;
      before := old.data;
      changed := array(select k from jsonb_object_keys(after || before) k where k <> 'active' and k <> 'meta' and after -> k is distinct from before -> k order by k);
      if cardinality(changed) > 0 then
        insert into events (tenant_id, type, subject, data) values (new.tenant_id, 'user.updated', new.id::text, doc || jsonb_build_object('changed', to_jsonb(changed)));
      end if;
      if old.active and not new.active then
        insert into events (tenant_id, type, subject, data) values (new.tenant_id, 'user.deactivated', new.id::text, doc);
      elsif new.active and not old.active then
        insert into events (tenant_id, type, subject, data) values (new.tenant_id, 'user.reactivated', new.id::text, doc);
      end if;
      return null;
    end $$`.execute(db);

  await sql`create function provisio_group_events() returns trigger language plpgsql as $$
    declare
      changed text[];
      after jsonb;
      before jsonb;
    begin
      if tg_op = 'INSERT' then
        insert into events (tenant_id, type, subject, data)
          values (new.tenant_id, 'group.created', new.id::text,
                  jsonb_build_object('group', jsonb_build_object('id', new.id, 'displayName', new.display_name, 'externalId', new.external_id)));
      elsif tg_op = 'UPDATE' then
        after := new.data;
        before := old.data;
        changed := array(select k from jsonb_object_keys(after || before) k where k <> 'members' and k <> 'meta' and after -> k is distinct from before -> k order by k);
        if cardinality(changed) > 0 then
          insert into events (tenant_id, type, subject, data)
            values (new.tenant_id, 'group.updated', new.id::text,
                    jsonb_build_object('group', jsonb_build_object('id', new.id, 'displayName', new.display_name, 'externalId', new.external_id), 'changed', to_jsonb(changed)));
        end if;
      elsif exists (select 1 from tenants t where t.id = old.tenant_id) then
        insert into events (tenant_id, type, subject, data)
          values (old.tenant_id, 'group.deleted', old.id::text,
                  jsonb_build_object('group', jsonb_build_object('id', old.id, 'displayName', old.display_name, 'externalId', old.external_id)));
      end if;
      return null;
    end $$`.execute(db);

  // Membership events are about the member (in order with its own events); the group is named. A
  // membership that ends because its user or group was deleted has no event of its own: user.deleted or
  // group.deleted says it (one event for a 1,000-member group, not 1,001), and a deleted tenant has none.
  await sql`create function provisio_member_events() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        insert into events (tenant_id, type, subject, data)
          select m.tenant_id, 'group.member_added', m.member_id::text,
                 jsonb_build_object('group', jsonb_build_object('id', m.group_id, 'displayName', g.display_name, 'externalId', g.external_id),
                                    'member', jsonb_build_object('id', m.member_id, 'type', m.member_type))
          from new_rows m left join groups g on g.tenant_id = m.tenant_id and g.id = m.group_id
          order by m.group_id, m.member_id;
      else
        insert into events (tenant_id, type, subject, data)
          select m.tenant_id, 'group.member_removed', m.member_id::text,
                 jsonb_build_object('group', jsonb_build_object('id', m.group_id, 'displayName', g.display_name, 'externalId', g.external_id),
                                    'member', jsonb_build_object('id', m.member_id, 'type', m.member_type))
          from old_rows m join groups g on g.tenant_id = m.tenant_id and g.id = m.group_id
          where (m.member_type = 'User' and exists (select 1 from users u where u.tenant_id = m.tenant_id and u.id = m.member_id))
             or (m.member_type = 'Group' and exists (select 1 from groups h where h.tenant_id = m.tenant_id and h.id = m.member_id))
          order by m.group_id, m.member_id;
      end if;
      return null;
    end $$`.execute(db);

  await sql`create trigger user_events_write after insert or delete on users for each row execute function provisio_user_events()`.execute(db);
  await sql`create trigger user_events_update after update on users for each row
    when (old.data is distinct from new.data or old.active is distinct from new.active) execute function provisio_user_events()`.execute(db);
  await sql`create trigger group_events_write after insert or delete on groups for each row execute function provisio_group_events()`.execute(db);
  await sql`create trigger group_events_update after update on groups for each row
    when (old.data is distinct from new.data) execute function provisio_group_events()`.execute(db);
  // Memberships change by the thousand in one PATCH: one statement-level INSERT … SELECT over the transition
  // table (which allows one event per trigger, hence two triggers).
  await sql.raw(`create trigger member_events_insert after insert on group_members referencing new table as new_rows for each statement execute function provisio_member_events()`).execute(db);
  await sql.raw(`create trigger member_events_delete after delete on group_members referencing old table as old_rows for each statement execute function provisio_member_events()`).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [trigger, table] of [['user_events_write', 'users'], ['user_events_update', 'users'], ['group_events_write', 'groups'], ['group_events_update', 'groups'],
    ['member_events_insert', 'group_members'], ['member_events_delete', 'group_members']] as const) {
    await sql.raw(`drop trigger if exists ${trigger} on ${table}`).execute(db);
  }
  await sql`drop function if exists provisio_member_events()`.execute(db);
  await sql`drop function if exists provisio_group_events()`.execute(db);
  await sql`drop function if exists provisio_user_events()`.execute(db);
  for (const table of ['webhook_deliveries', 'webhook_endpoints', 'event_sequences', 'events']) await sql.raw(`drop table if exists ${table}`).execute(db);
}
