import { sql, type Kysely } from 'kysely';

/**
 * A membership can never outlive its member. `member_id` names a user or a group, so it cannot carry a
 * foreign key itself; two generated columns split it by `member_type`, and each gets a foreign key with
 * `ON DELETE CASCADE`. A PATCH adding a member that races a DELETE of that member now either commits
 * first (and the delete's cascade removes the row) or fails its foreign-key check once the delete commits:
 * no dangling row in any interleaving, whatever the code path. The partial indexes serve the cascades.
 * Frozen once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Rows left dangling by the race before this migration would fail the new constraints.
  await sql`delete from group_members gm where gm.member_type = 'User'
    and not exists (select 1 from users u where u.tenant_id = gm.tenant_id and u.id = gm.member_id)`.execute(db);
  await sql`delete from group_members gm where gm.member_type = 'Group'
    and not exists (select 1 from groups g where g.tenant_id = gm.tenant_id and g.id = gm.member_id)`.execute(db);
  await sql`alter table group_members
    add column member_user_id uuid generated always as (case when member_type = 'User' then member_id end) stored,
    add column member_group_id uuid generated always as (case when member_type = 'Group' then member_id end) stored`.execute(db);
  await sql`create index group_members_member_user on group_members (tenant_id, member_user_id) where member_user_id is not null`.execute(db);
  await sql`create index group_members_member_group on group_members (tenant_id, member_group_id) where member_group_id is not null`.execute(db);
  await sql`alter table group_members
    add constraint group_members_user_fk foreign key (tenant_id, member_user_id) references users (tenant_id, id) on delete cascade,
    add constraint group_members_member_group_fk foreign key (tenant_id, member_group_id) references groups (tenant_id, id) on delete cascade`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table group_members drop constraint if exists group_members_user_fk, drop constraint if exists group_members_member_group_fk`.execute(db);
  await sql`drop index if exists group_members_member_user`.execute(db);
  await sql`drop index if exists group_members_member_group`.execute(db);
  await sql`alter table group_members drop column if exists member_user_id, drop column if exists member_group_id`.execute(db);
}
