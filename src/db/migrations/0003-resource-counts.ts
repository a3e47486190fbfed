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
  // A delete only decrements an existing slot (never inserts): when a tenant is deleted, its rows cascade
  // while its counts go too, and an insert there would violate the foreign key.
  await sql`create function provisio_count_resource() returns trigger language plpgsql as $$
    declare
      pick smallint := floor(random() * 16)::smallint;
    begin
      if tg_op = 'INSERT' then
        insert into resource_counts as c (tenant_id, resource, slot, n) values (new.tenant_id, tg_table_name, pick, 1)
          on conflict (tenant_id, resource, slot) do update set n = c.n + 1;
      else
        update resource_counts set n = n - 1 where tenant_id = old.tenant_id and resource = tg_table_name and slot = pick;
        if not found then
          update resource_counts set n = n - 1 where ctid = (
            select ctid from resource_counts where tenant_id = old.tenant_id and resource = tg_table_name limit 1);
        end if;
      end if;
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
