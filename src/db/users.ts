import { CompiledQuery, sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { DuplicateError, isUniqueViolation } from './errors.js';
import type { Database, UserRow } from './schema.js';

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

/** The unique index on a tenant's `lower(user_name)`: a write that breaks it throws `DuplicateError`. */
export const USER_NAME_UNIQUE = 'users_user_name';

function uniqueness(err: unknown, userName: string): never {
  if (isUniqueViolation(err, USER_NAME_UNIQUE)) throw new DuplicateError(USER_NAME_UNIQUE, userName, { cause: err });
  throw err;
}

/** The user's direct groups as one correlated subquery over the row aliased `alias`, so a read stays a single statement. */
export const groupsOf = (alias: string): RawBuilder<UserGroupRef[]> => sql<UserGroupRef[]>`(
  select coalesce(json_agg(json_build_object('value', g.id, 'display', g.display_name) order by g.display_name, g.id), '[]'::json)
  from group_members gm join groups g on g.tenant_id = gm.tenant_id and g.id = gm.group_id
  where gm.tenant_id = ${sql.ref(`${alias}.tenant_id`)} and gm.member_id = ${sql.ref(`${alias}.id`)})`;

/** The `groups` subquery as SQL text, for the statements below that skip the query builder. */
const GROUPS_OF_R = `(select coalesce(json_agg(json_build_object('value', g.id, 'display', g.display_name) order by g.display_name, g.id), '[]'::json)
  from group_members gm join groups g on g.tenant_id = gm.tenant_id and g.id = gm.group_id
  where gm.tenant_id = r.tenant_id and gm.member_id = r.id)`;

/*
 * The per-request statements of the SCIM hot path are fixed SQL texts executed as-is: building and
 * compiling them through Kysely's builder on every request cost a sixth of the process's CPU in the
 * GET benchmark, and fixed texts also become prepared statements (see client.ts).
 */
const INSERT_USER = `insert into users as r (tenant_id, id, user_name, external_id, display_name, active, email, data)
  values ($1, $2, $3, $4, $5, $6, $7, $8) returning r.*`;
const FIND_USER = `select r.* from users r where r.tenant_id = $1 and r.id = $2`;
const FIND_USER_WITH_GROUPS = `select r.*, ${GROUPS_OF_R} as groups from users r where r.tenant_id = $1 and r.id = $2`;
const updateUserWhere = (condition: string) => `update users as r set user_name = $3, external_id = $4, display_name = $5, active = $6, email = $7,
  data = $8, version = r.version + 1, updated_at = clock_timestamp()
  where ${condition} returning r.*, ${GROUPS_OF_R} as groups`;
const UPDATE_USER = updateUserWhere('r.tenant_id = $1 and r.id = $2');

/**
 * The same writes for a tenant that is not bound to Auth0, judged in the statement itself (as
 * `deleteUserOfUnboundTenant`): nothing to tell the sync, so no transaction and no separate check. They
 * write nothing for a bound tenant, whose writes go through the transaction with the sync notification.
 */
const UNBOUND = 'not exists (select 1 from tenant_sync_config where tenant_id = $1)';
const INSERT_USER_UNBOUND = `insert into users as r (tenant_id, id, user_name, external_id, display_name, active, email, data)
  select $1::uuid, $2::uuid, $3::text, $4::text, $5::text, $6::boolean, $7::text, $8::jsonb where ${UNBOUND} returning r.*`;
const UPDATE_USER_UNBOUND = updateUserWhere(`r.tenant_id = $1 and r.id = $2 and ${UNBOUND}`);

function fieldParams(fields: UserFields): unknown[] {
  return [fields.userName, fields.externalId, fields.displayName, fields.active, fields.email, JSON.stringify(fields.data)];
}

/** Runs one of the user writes below: its row (undefined when it wrote none); a taken userName throws `DuplicateError`. */
async function writeUserRow(db: Db, text: string, tenantId: string, id: string, fields: UserFields): Promise<UserWithGroups | undefined> {
  try {
    return (await db.executeQuery<UserWithGroups>(CompiledQuery.raw(text, [tenantId, id, ...fieldParams(fields)]))).rows[0];
  } catch (err) {
    return uniqueness(err, fields.userName);
  }
}

/** Inserts a user; a userName the tenant already has (case-insensitively) throws `DuplicateError`. */
export async function insertUser(db: Db, tenantId: string, id: string, fields: UserFields): Promise<UserWithGroups> {
  return { ...(await writeUserRow(db, INSERT_USER, tenantId, id, fields))!, groups: [] };
}

export async function findUser(db: Db, tenantId: string, id: string, options: { groups: boolean; forUpdate?: boolean }): Promise<UserWithGroups | undefined> {
  const text = (options.groups ? FIND_USER_WITH_GROUPS : FIND_USER) + (options.forUpdate ? ' for update' : '');
  const result = await db.executeQuery<UserWithGroups>(CompiledQuery.raw(text, [tenantId, id]));
  return result.rows[0];
}

const FIND_USER_BY_NAME = `select r.* from users r where r.tenant_id = $1 and lower(r.user_name) = lower($2)`;
const FIND_USER_BY_NAME_WITH_GROUPS = `select r.*, ${GROUPS_OF_R} as groups from users r where r.tenant_id = $1 and lower(r.user_name) = lower($2)`;

/** The user whose userName is `userName` compared as SCIM does (case-insensitive; one by the unique index). */
export async function findUserByName(db: Db, tenantId: string, userName: string, options: { groups: boolean }): Promise<UserWithGroups | undefined> {
  const result = await db.executeQuery<UserWithGroups>(CompiledQuery.raw(options.groups ? FIND_USER_BY_NAME_WITH_GROUPS : FIND_USER_BY_NAME, [tenantId, userName]));
  return result.rows[0];
}

/** `insertUser` when the tenant is not bound to Auth0; undefined (nothing written) when it is. */
export async function insertUserOfUnboundTenant(db: Db, tenantId: string, id: string, fields: UserFields): Promise<UserWithGroups | undefined> {
  const row = await writeUserRow(db, INSERT_USER_UNBOUND, tenantId, id, fields);
  return row && { ...row, groups: [] };
}

/** `updateUser` when the tenant is not bound to Auth0; undefined when it is, or when the user does not exist. */
export async function updateUserOfUnboundTenant(db: Db, tenantId: string, id: string, fields: UserFields): Promise<UserWithGroups | undefined> {
  return writeUserRow(db, UPDATE_USER_UNBOUND, tenantId, id, fields);
}

/** Replaces the stored resource; bumps `version`. Undefined when the user does not exist; a taken userName throws `DuplicateError`. */
export async function updateUser(db: Db, tenantId: string, id: string, fields: UserFields): Promise<UserWithGroups | undefined> {
  return writeUserRow(db, UPDATE_USER, tenantId, id, fields);
}

// Its memberships go by the foreign key's ON DELETE CASCADE (migration 0006).
const DELETE_USER = `delete from users where tenant_id = $1 and id = $2 returning id, user_name, external_id, email`;

/** What a deleted user leaves behind for deprovisioning (the sync's tombstone). */
export interface DeletedUser {
  readonly id: string;
  readonly user_name: string;
  readonly external_id: string | null;
  readonly email: string | null;
}

/** Deletes the user and its memberships; undefined when it did not exist. */
export async function deleteUser(db: Db, tenantId: string, id: string): Promise<DeletedUser | undefined> {
  const result = await db.executeQuery<DeletedUser>(CompiledQuery.raw(DELETE_USER, [tenantId, id]));
  return result.rows[0];
}

const DELETE_USER_UNBOUND = `delete from users where tenant_id = $1 and id = $2 and ${UNBOUND} returning id`;

/**
 * Deletes the user in one statement when its tenant is not bound to Auth0 (nothing to tell the sync), judged
 * in the same statement so a concurrent bind cannot slip between the check and the delete. False when the
 * tenant is bound or the user does not exist: the caller then takes the transactional path.
 */
export async function deleteUserOfUnboundTenant(db: Db, tenantId: string, id: string): Promise<boolean> {
  const result = await db.executeQuery<{ id: string }>(CompiledQuery.raw(DELETE_USER_UNBOUND, [tenantId, id]));
  return result.rows.length > 0;
}

/** The id of the user with this userName (case-insensitive, as SCIM compares it). */
export async function findUserIdByName(db: Db, tenantId: string, userName: string): Promise<string | undefined> {
  const row = await db.selectFrom('users').select('id').where('tenant_id', '=', tenantId)
    .where((eb) => eb(eb.fn('lower', ['user_name']), '=', userName.toLowerCase())).executeTakeFirst();
  return row?.id;
}
