import { sql, type Kysely } from 'kysely';
import t from 'tap';
import type { Filter } from 'scim2-parse-filter';
import { createTenant } from '../../../src/admin/tenants.js';
import type { Database } from '../../../src/db/schema.js';
import { insertUser } from '../../../src/db/users.js';
import { parseFilter } from '../../../src/scim/query.js';
import { groupResourceType, userResourceType } from '../../../src/scim/registry.js';
import { normalizeResource } from '../../../src/scim/resource.js';
import { compileFilter, compileSortKey } from '../../../src/scim/sql/filter.js';
import { userFields } from '../../../src/scim/users.js';
import { testDatabase } from '../../helpers/db.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
/** The error `fn` throws (undefined when it does not). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The compiled SQL (whitespace squashed) and parameters of a filter over `users as r`. */
function compiled(db: Kysely<Database>, filter: string | Filter, rt = userResourceType) {
  const c = compileFilter(rt, typeof filter === 'string' ? parseFilter(filter) : filter).compile(db);
  return { sql: squash(c.sql), parameters: c.parameters };
}

/** userNames of this tenant's users matching `filter`, sorted. */
async function matching(db: Kysely<Database>, tenantId: string, filter: string | Filter): Promise<string[]> {
  const rows = await db
    .selectFrom('users as r')
    .select('r.user_name')
    .where('r.tenant_id', '=', tenantId)
    .where(compileFilter(userResourceType, typeof filter === 'string' ? parseFilter(filter) : filter))
    .orderBy('r.user_name')
    .execute();
  return rows.map((r) => r.user_name);
}

async function seed(db: Kysely<Database>) {
  const { tenant } = await createTenant(db, { name: 'acme' });
  const { tenant: other } = await createTenant(db, { name: 'other' });
  const ids: Record<string, string> = {};
  let n = 0;
  const add = async (tenantId: string, body: Record<string, unknown>) => {
    const id = `0190a1b2-0000-7000-8000-${String(++n).padStart(12, '0')}`;
    await insertUser(db, tenantId, id, userFields(normalizeResource(userResourceType, body)));
    ids[String(body.userName)] = id;
  };
  await add(tenant.id, {
    userName: 'Alice', externalId: 'ext-A', title: 'Engineer', name: { givenName: 'Alice' },
    emails: [{ value: 'alice@x.test', type: 'work', primary: true }, { value: 'alice@home.test', type: 'home' }],
    [ENTERPRISE]: { department: 'Eng', manager: { value: 'm-1' } },
  });
  await add(tenant.id, { userName: 'bob', externalId: 'EXT-B', active: false, emails: [{ value: 'bob@x.test', type: 'home' }] });
  await add(tenant.id, { userName: '100%_off' });
  await add(tenant.id, { userName: '100xyoff' });
  await add(tenant.id, { userName: 'CORP\\alice' });
  await add(tenant.id, { userName: 'CORPXalice' });
  await add(tenant.id, { userName: `o'brien"q` });
  await add(other.id, { userName: 'alice-other', title: 'Engineer' });
  return { tenantId: tenant.id, ids };
}

t.test('compiled SQL and parameters, then the rows they select', async (t) => {
  const { db } = await testDatabase(t);
  const { tenantId, ids } = await seed(db);

  const cases: { filter: string; sql: string; parameters: unknown[]; rows: string[] }[] = [
    {
      filter: 'userName eq "alice"',
      sql: '(lower("r"."user_name") = lower($1))',
      parameters: ['alice'],
      rows: ['Alice'],
    },
    {
      // caseExact: no lower(); the value is a parameter.
      filter: 'externalId eq "EXT-B"',
      sql: '("r"."external_id" = $1)',
      parameters: ['EXT-B'],
      rows: ['bob'],
    },
    { filter: 'externalId eq "ext-b"', sql: '("r"."external_id" = $1)', parameters: ['ext-b'], rows: [] },
    {
      filter: `id eq "${ids.bob}"`,
      sql: '("r"."id" = $1::uuid)',
      parameters: [ids.bob],
      rows: ['bob'],
    },
    // Not a UUID: matches nothing rather than failing the cast.
    { filter: 'id eq "bob"', sql: 'false', parameters: [], rows: [] },
    {
      filter: 'userName ne "alice"',
      sql: 'coalesce(lower("r"."user_name") <> lower($1), true)',
      parameters: ['alice'],
      rows: ['100%_off', '100xyoff', 'bob', 'CORP\\alice', 'CORPXalice', `o'brien"q`],
    },
    {
      // Attribute names in SQL are the schema's canonical names, never the client's text.
      filter: 'NAME.GIVENNAME sw "al"',
      sql: `(lower((r.data -> 'name' -> 'givenName' #>> '{}')) like lower($1))`,
      parameters: ['al%'],
      rows: ['Alice'],
    },
    {
      // Names are case-insensitive; manager.value is an id, so its value is caseExact (RFC 7643 erratum 8472).
      filter: `${ENTERPRISE.toUpperCase()}:MANAGER.VALUE eq "m-1"`,
      sql: `((r.data -> '${ENTERPRISE}' -> 'manager' -> 'value' #>> '{}') = $1)`,
      parameters: ['m-1'],
      rows: ['Alice'],
    },
    {
      filter: `${ENTERPRISE}:manager.value eq "M-1"`,
      sql: `((r.data -> '${ENTERPRISE}' -> 'manager' -> 'value' #>> '{}') = $1)`,
      parameters: ['M-1'],
      rows: [],
    },
    {
      filter: 'emails[type eq "work" and value co "@x"]',
      sql: `exists (select 1 from jsonb_array_elements(coalesce(r.data -> 'emails', '[]'::jsonb)) as e(v) where ((lower((e.v -> 'type' #>> '{}')) = lower($1)) and (lower((e.v -> 'value' #>> '{}')) like lower($2))))`,
      parameters: ['work', '%@x%'],
      rows: ['Alice'],
    },
    {
      filter: 'emails co "@X.TEST"',
      sql: `exists (select 1 from jsonb_array_elements(coalesce(r.data -> 'emails', '[]'::jsonb)) as e(v) where (lower((e.v -> 'value' #>> '{}')) like lower($1)))`,
      parameters: ['%@X.TEST%'],
      rows: ['Alice', 'bob'],
    },
    {
      filter: 'active eq false',
      sql: '("r"."active" = $1)',
      parameters: [false],
      rows: ['bob'],
    },
    {
      filter: 'title pr',
      sql: `(coalesce(r.data -> 'title' not in ('null'::jsonb, '""'::jsonb, '[]'::jsonb, '{}'::jsonb), false))`,
      parameters: [],
      rows: ['Alice'],
    },
    {
      filter: 'meta.created gt "2000-01-01T00:00:00+02:00"',
      sql: `(date_trunc('milliseconds', "r"."created_at") > $1::timestamptz)`,
      parameters: ['1999-12-31T22:00:00.000Z'],
      rows: ['100%_off', '100xyoff', 'Alice', 'bob', 'CORP\\alice', 'CORPXalice', `o'brien"q`],
    },
    {
      filter: 'not (userName sw "a") and (externalId pr or active eq false)',
      sql: `((not coalesce((lower("r"."user_name") like lower($1)), false)) and ((("r"."external_id" is not null and "r"."external_id" <> '')) or ("r"."active" = $2)))`,
      parameters: ['a%', false],
      rows: ['bob'],
    },
  ];
  for (const c of cases) {
    t.same(compiled(db, c.filter), { sql: c.sql, parameters: c.parameters }, `compiles: ${c.filter}`);
    t.same(await matching(db, tenantId, c.filter), [...c.rows].sort(), `selects: ${c.filter}`);
  }

  const groupsValue = compiled(db, `groups.value eq "${ids.bob}"`);
  t.match(groupsValue.sql, /^exists \(select 1 from group_members gm join groups g .* where gm\.tenant_id = r\.tenant_id and gm\.member_id = r\.id and \("gm"\."group_id" = \$1::uuid\)\)$/);
  t.same(compiled(db, `members.value eq "${ids.bob}"`, groupResourceType).sql,
    `exists (select 1 from group_members gm where gm.tenant_id = r.tenant_id and gm.group_id = r.id and ("gm"."member_id" = $1::uuid))`);
});

t.test('sort keys', async (t) => {
  const { db } = await testDatabase(t);
  const { tenantId } = await seed(db);
  t.equal(squash(compileSortKey(userResourceType, 'USERNAME').compile(db).sql), 'lower("r"."user_name")');
  t.equal(squash(compileSortKey(userResourceType, 'externalId').compile(db).sql), '"r"."external_id"', 'caseExact: not folded');
  t.equal(squash(compileSortKey(userResourceType, 'meta.lastModified').compile(db).sql), '"r"."updated_at"');
  t.equal(squash(compileSortKey(userResourceType, 'emails.value').compile(db).sql),
    `lower((select e.v ->> 'value' from jsonb_array_elements(coalesce(r.data -> 'emails', '[]'::jsonb)) with ordinality as e(v, n) order by (e.v -> 'primary') = 'true'::jsonb desc nulls last, e.n limit 1))`);
  const rows = await db.selectFrom('users as r').select('r.user_name').where('r.tenant_id', '=', tenantId)
    .where(sql<boolean>`r.data ? 'emails'`)
    .orderBy(compileSortKey(userResourceType, 'emails'), 'desc').execute();
  t.same(rows.map((r) => r.user_name), ['bob', 'Alice'], 'emails sorts by the primary value');
  for (const bad of ['nosuch', 'name', 'groups', 'members.value', 'userName"; drop table users; --']) {
    t.match(thrown(() => compileSortKey(userResourceType, bad)), { name: 'ScimError', status: 400, scimType: 'invalidValue' }, `sortBy ${bad}`);
  }
});

t.test('injection: attribute names are resolved against the schema, values are parameters', async (t) => {
  const { db } = await testDatabase(t);
  const { tenantId } = await seed(db);

  // Through the parser: quotes and semicolons in an attribute name are a 400 invalidFilter.
  for (const text of ['user"Name eq "x"', "user'Name eq \"x\"", 'userName;drop table users eq "x"', 'userName") or 1=1 -- eq "x"', 'title pr; drop table users']) {
    t.match(thrown(() => parseFilter(text)), { name: 'ScimError', status: 400, scimType: 'invalidFilter' }, text);
  }
  // Past the parser (a hand-built AST): an attribute the schema does not define is rejected before any SQL.
  for (const attrPath of [`userName" = '' or 1=1 --`, `title'; drop table users; --`, `name.givenName') or ('1'='1`, `${ENTERPRISE}:department';--`, 'emails.value.x']) {
    t.match(thrown(() => compileFilter(userResourceType, { op: 'eq', attrPath, compValue: 'x' })), { name: 'ScimError', status: 400, scimType: 'invalidFilter' }, attrPath);
  }
  t.match(thrown(() => compileFilter(userResourceType, { op: '[]', attrPath: 'emails', valFilter: { op: 'eq', attrPath: `type' or 'a'='a`, compValue: 'x' } })),
    { name: 'ScimError', status: 400, scimType: 'invalidFilter' }, 'sub-attribute inside a value path');
  t.match(thrown(() => compileFilter(userResourceType, parseFilter('password eq "x"'))),
    { name: 'ScimError', status: 400, scimType: 'invalidFilter' }, 'returned:never attributes cannot be probed');

  // Values: quotes, LIKE wildcards and backslashes are parameters and match literally.
  const value = (op: 'eq' | 'co' | 'sw' | 'ew', compValue: string): Filter => ({ op, attrPath: 'userName', compValue });
  t.same(compiled(db, value('eq', `x' or '1'='1`)).parameters, [`x' or '1'='1`]);
  t.same(await matching(db, tenantId, value('eq', `x' or '1'='1`)), []);
  t.same(await matching(db, tenantId, value('eq', `O'BRIEN"Q`)), [`o'brien"q`], 'quotes in a value');
  t.same(await matching(db, tenantId, value('co', `'brien"`)), [`o'brien"q`]);
  t.same(compiled(db, value('co', '%_')).parameters, ['%\\%\\_%'], 'wildcards escaped in the LIKE pattern');
  t.same(await matching(db, tenantId, value('co', '%_')), ['100%_off'], 'co: % and _ are literal');
  t.same(await matching(db, tenantId, value('sw', '100%')), ['100%_off'], 'sw: % is literal');
  t.same(await matching(db, tenantId, value('ew', '_off')), ['100%_off'], 'ew: _ is literal');
  t.same(await matching(db, tenantId, value('co', '%')), ['100%_off']);
  t.same(compiled(db, value('sw', 'CORP\\')).parameters, ['CORP\\\\%'], 'backslash escaped in the LIKE pattern');
  t.same(await matching(db, tenantId, value('sw', 'corp\\')), ['CORP\\alice'], 'sw: backslash is literal');
  t.same(await matching(db, tenantId, value('ew', '\\ALICE')), ['CORP\\alice'], 'ew: backslash is literal');
  t.same(await matching(db, tenantId, value('eq', 'CORP\\alice')), ['CORP\\alice'], 'eq: backslash is literal');
  t.same(await matching(db, tenantId, value('eq', 'CORP_alice')), [], 'eq never uses LIKE');

  const count = await db.selectFrom('users').select(db.fn.countAll().as('n')).executeTakeFirstOrThrow();
  t.equal(Number(count.n), 8, 'the users table is intact');
});

t.test('tenant scoping: a filter on relational attributes stays inside the row\'s tenant', async (t) => {
  const { db } = await testDatabase(t);
  const { tenantId, ids } = await seed(db);
  const { tenant: other } = await createTenant(db, { name: 'third' });
  // A membership row in another tenant that names Alice's id must not count as Alice's group.
  const groupId = '0190a1b2-0000-7000-8000-00000000ffff';
  await db.insertInto('groups').values({ tenant_id: other.id, id: groupId, display_name: 'Theirs', external_id: null, data: '{}' }).execute();
  // Ids are unique per tenant only: the other tenant may hold a user with Alice's id (the foreign keys of
  // migration 0006 refuse a membership naming a user the tenant does not have).
  await db.insertInto('users').values({ tenant_id: other.id, id: ids.Alice!, user_name: 'their-alice', external_id: null, display_name: null, active: true, email: null, data: '{}' }).execute();
  await db.insertInto('group_members').values({ tenant_id: other.id, group_id: groupId, member_id: ids.Alice!, member_type: 'User' }).execute();
  t.same(await matching(db, tenantId, `groups.value eq "${groupId}"`), []);
  t.same(await matching(db, tenantId, 'groups pr'), []);
  t.same(await matching(db, tenantId, 'groups.display eq "Theirs"'), []);
});
