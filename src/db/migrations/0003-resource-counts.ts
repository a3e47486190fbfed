import { sql, type Kysely } from 'kysely';

/**
 * Exact per-tenant resource counts kept by triggers, so an unfiltered list's `totalResults` costs a
 * 16-row sum instead of counting 100,000 index entries on every page (RFC 7644 §3.4.2.4 wants it
 * exact; IdPs page through everything). Each change updates one of 16 slots picked at random, so
 * concurrent inserts of one tenant do not queue on a single counter row. Existing rows are counted
 * once here. Frozen once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table resource_counts (
    tenant_id uuid not null references tenants(id) on delete cascade,
    resource text not null check (resource in ('users', 'groups')),
    slot smallint not null,
    n bigint not null default 0,
    primary key (tenant_id, resource, slot)
  )`.execute(db);
  // Keyed upserts only (a ctid-based update can lose a decrement to a concurrent one). A delete whose
  // tenant is itself being deleted (cascade) records nothing: the counts go with the tenant.
  await sql`create function provisio_count_resource() returns trigger language plpgsql as $$
    declare
      t uuid;
      delta int;
    begin
      if tg_op = 'INSERT' then
        t := new.tenant_id; delta := 1;
      else
        t := old.tenant_id; delta := -1;
        if not exists (select 1 from tenants where id = t) then return null; end if;
      end if;
      insert into resource_counts as c (tenant_id, resource, slot, n) values (t, tg_table_name, floor(random() * 16)::smallint, delta)
        on conflict (tenant_id, resource, slot) do update set n = c.n + excluded.n;
      return null;
    end $$`.execute(db);
  for (const table of ['users', 'groups']) {
    await sql`create trigger ${sql.id(`${table}_count`)} after insert or delete on ${sql.table(table)}
      for each row execute function provisio_count_resource()`.execute(db);
    await sql`insert into resource_counts (tenant_id, resource, slot, n)
      select tenant_id, ${table}, 0, count(*) from ${sql.table(table)} group by tenant_id`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists users_count on users`.execute(db);
  await sql`drop trigger if exists groups_count on groups`.execute(db);
  await sql`drop function if exists provisio_count_resource()`.execute(db);
  await sql`drop table if exists resource_counts`.execute(db);
}
