import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Filter } from 'scim2-parse-filter';
import { ScimError } from '../scim/errors.js';
import { userResourceType } from '../scim/registry.js';
import { isUniqueViolation } from './errors.js';
import type { Database, UserRow } from './schema.js';
import { compileFilter, compileSortKey } from './scim-filter.js';

type Db = Kysely<Database> | Transaction<Database>;

/** A user's direct group, for the readOnly `groups` attribute (RFC 7643 §4.1.2). */
export interface UserGroupRef {
  readonly value: string;
  readonly display: string;
}

export type UserWithGroups = UserRow & { groups?: UserGroupRef[] };

/** Columns copied out of the resource for indexing; `data` holds the whole resource. */
export interface UserFields {
  readonly userName: string;
  readonly externalId: string | null;
  readonly displayName: string | null;
  readonly active: boolean;
  readonly email: string | null;
  readonly data: Record<string, unknown>;
}

const USER_NAME_TAKEN = 'users_user_name';

function uniqueness(err: unknown, userName: string): never {
  if (isUniqueViolation(err, USER_NAME_TAKEN)) throw ScimError.uniqueness(`userName "${userName}" is already in use`);
  throw err;
}

/** The user's direct groups as one correlated subquery, so GET stays a single statement. */
const groupsOf = (alias: string): RawBuilder<UserGroupRef[]> => sql<UserGroupRef[]>`(
  select coalesce(json_agg(json_build_object('value', g.id, 'display', g.display_name) order by g.display_name, g.id), '[]'::json)
  from group_members gm join groups g on g.tenant_id = gm.tenant_id and g.id = gm.group_id
  where gm.tenant_id = ${sql.ref(`${alias}.tenant_id`)} and gm.member_id = ${sql.ref(`${alias}.id`)})`;

export async function insertUser(db: Db, tenantId: string, id: string, fields: UserFields): Promise<UserWithGroups> {
  try {
    const row = await db
      .insertInto('users')
      .values({
        tenant_id: tenantId,
        id,
        user_name: fields.userName,
        external_id: fields.externalId,
        display_name: fields.displayName,
        active: fields.active,
        email: fields.email,
        data: JSON.stringify(fields.data),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ...row, groups: [] };
  } catch (err) {
    return uniqueness(err, fields.userName);
  }
}

export async function findUser(db: Db, tenantId: string, id: string, options: { groups: boolean; forUpdate?: boolean }): Promise<UserWithGroups | undefined> {
  let query = db
    .selectFrom('users as r')
    .selectAll('r')
    .where('r.tenant_id', '=', tenantId)
    .where('r.id', '=', id);
  if (options.groups) query = query.select(groupsOf('r').as('groups'));
  if (options.forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

/** Replaces the stored resource; bumps `version`. Undefined when the user does not exist. */
export async function updateUser(db: Db, tenantId: string, id: string, fields: UserFields): Promise<UserWithGroups | undefined> {
  try {
    return await db
      .updateTable('users as r')
      .set((eb) => ({
        user_name: fields.userName,
        external_id: fields.externalId,
        display_name: fields.displayName,
        active: fields.active,
        email: fields.email,
        data: JSON.stringify(fields.data),
        version: eb('r.version', '+', 1),
        updated_at: sql<Date>`clock_timestamp()`,
      }))
      .where('r.tenant_id', '=', tenantId)
      .where('r.id', '=', id)
      .returningAll()
      .returning(groupsOf('r').as('groups'))
      .executeTakeFirst();
  } catch (err) {
    return uniqueness(err, fields.userName);
  }
}

/** Deletes the user and its memberships; false when it did not exist. */
export async function deleteUser(db: Db, tenantId: string, id: string): Promise<boolean> {
  const rows = await sql<{ id: string }>`
    with gone as (delete from users where tenant_id = ${tenantId} and id = ${id} returning id),
         memberships as (delete from group_members where tenant_id = ${tenantId} and member_id in (select id from gone))
    select id from gone`.execute(db);
  return rows.rows.length > 0;
}

export interface ListPage<Row> {
  readonly total: number;
  readonly rows: Row[];
}

export interface ListOptions {
  readonly filter?: Filter;
  readonly sortBy?: string;
  readonly sortOrder: 'ascending' | 'descending';
  readonly startIndex: number;
  readonly count: number;
  readonly withGroups: boolean;
}

/**
 * One page of users and the total matching count. The page is chosen on ids first (an index-only scan
 * for the default order), then only those rows are read, so deep offsets do not fetch skipped rows.
 */
export async function listUsers(db: Db, tenantId: string, options: ListOptions): Promise<ListPage<UserWithGroups>> {
  const where = options.filter ? compileFilter(userResourceType, options.filter) : sql<boolean>`true`;
  const totalQuery = sql<{ total: string }>`select count(*) as total from users r where r.tenant_id = ${tenantId} and ${where}`;
  if (options.count === 0) {
    const total = await totalQuery.execute(db);
    return { total: Number(total.rows[0]?.total ?? 0), rows: [] };
  }
  const direction = sql.raw(options.sortOrder === 'descending' ? 'desc' : 'asc');
  const key = options.sortBy ? compileSortKey(userResourceType, options.sortBy) : sql`null::text`;
  const groups = options.withGroups ? sql`, ${groupsOf('u')} as groups` : sql``;
  const page = sql<UserWithGroups>`
    select u.* ${groups} from (
      select r.id, ${key} as sort_key from users r
      where r.tenant_id = ${tenantId} and ${where}
      order by sort_key ${direction}, r.id ${direction}
      limit ${options.count} offset ${options.startIndex - 1}
    ) p join users u on u.tenant_id = ${tenantId} and u.id = p.id
    order by p.sort_key ${direction}, p.id ${direction}`;
  const [total, rows] = await Promise.all([totalQuery.execute(db), page.execute(db)]);
  return { total: Number(total.rows[0]?.total ?? 0), rows: rows.rows };
}
