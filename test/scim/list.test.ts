import { readFileSync } from 'node:fs';
import t from 'tap';
import { ENTERPRISE_URN, GROUP_URN, testApp, USER_URN, userBody, type ScimClient } from '../helpers/app.js';

const SEARCH_URN = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

interface FilterCase {
  readonly name: string;
  readonly filter: string;
  readonly expect: string[];
}
const cases = JSON.parse(readFileSync(new URL('./filter.cases.json', import.meta.url), 'utf8')) as { users: FilterCase[]; groups: FilterCase[] };

type Resource = Record<string, any>;
interface Directory {
  readonly users: Record<string, Resource>;
  readonly groups: Record<string, Resource>;
}

async function post(scim: ScimClient, path: string, body: unknown): Promise<Resource> {
  const res = await scim.json('POST', path, body);
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Five users and three groups (Staff contains Carol and the Admins group); Bob is replaced last. */
async function seedDirectory(scim: ScimClient): Promise<Directory> {
  const bobBody = userBody('bob@example.com', {
    externalId: 'ext-bob',
    displayName: 'Bob Builder',
    name: { givenName: 'Bob', familyName: 'Builder' },
    title: 'Manager',
    active: false,
    // The work address is primary though listed second: sorting by emails.value must use it.
    emails: [{ value: 'bob@x.test', type: 'home' }, { value: 'aaron-bob@work.test', type: 'work', primary: true }],
    [ENTERPRISE_URN]: { department: 'Sales', manager: { value: 'boss-2' } },
  });
  const users: Record<string, Resource> = {};
  users.alice = await post(scim, '/Users', userBody('alice@example.com', {
    externalId: 'EXT-Alice',
    displayName: 'Alice Liddell',
    name: { givenName: 'Alice', familyName: 'Liddell' },
    title: 'Engineer',
    emails: [{ value: 'alice@x.test', type: 'work', primary: true }, { value: 'alice@home.test', type: 'home' }],
    [ENTERPRISE_URN]: { department: 'Engineering', manager: { value: 'boss-1' } },
  }));
  users.bob = await post(scim, '/Users', bobBody);
  users.carol = await post(scim, '/Users', userBody('Carol@Example.com', {
    displayName: 'Carol',
    name: { givenName: 'Carol' },
    title: 'Engineer',
    emails: [{ value: 'carol@y.test', type: 'work' }],
    [ENTERPRISE_URN]: { department: 'engineering' },
  }));
  users.dave = await post(scim, '/Users', userBody('dave', { externalId: 'ext-dave', nickName: 'D' }));
  users.erin = await post(scim, '/Users', userBody('erin@example.org', {
    displayName: 'Erin',
    title: 'Director',
    emails: [{ value: 'erin@x.test', type: 'other' }],
  }));
  const groups: Record<string, Resource> = {};
  groups.Admins = await post(scim, '/Groups', {
    schemas: [GROUP_URN], displayName: 'Admins', externalId: 'aad-admins',
    members: [{ value: users.alice!.id }, { value: users.bob!.id }],
  });
  groups.Staff = await post(scim, '/Groups', {
    schemas: [GROUP_URN], displayName: 'Staff', members: [{ value: users.carol!.id }, { value: groups.Admins.id }],
  });
  groups.Empty = await post(scim, '/Groups', { schemas: [GROUP_URN], displayName: 'Empty' });
  const put = await scim.json('PUT', `/Users/${users.bob.id}`, bobBody);
  if (put.status !== 200) throw new Error(`PUT bob: ${put.status}`);
  users.bob = put.body;
  return { users, groups };
}

function substitute(filter: string, dir: Directory): string {
  return filter.replace(/\$\{(user|group|created|lastModified):([^}]+)\}/g, (_m, kind: string, key: string) => {
    if (kind === 'group') return dir.groups[key]!.id;
    const user = dir.users[key]!;
    return kind === 'user' ? user.id : user.meta[kind];
  });
}

const q = (params: Record<string, string | number>) =>
  '?' + Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');
const sorted = (names: string[]) => [...names].sort();

t.test('filters over HTTP (filter.cases.json)', async (t) => {
  const { scim } = await testApp(t);
  const dir = await seedDirectory(scim);
  for (const [endpoint, list, key] of [['/Users', cases.users, 'userName'], ['/Groups', cases.groups, 'displayName']] as const) {
    for (const c of list) {
      const filter = substitute(c.filter, dir);
      const res = await scim.json('GET', `${endpoint}${q({ filter, count: 100 })}`);
      t.equal(res.status, 200, `${endpoint} ${c.name}: status (${JSON.stringify(res.body?.detail)})`);
      t.same(sorted((res.body.Resources ?? []).map((r: Resource) => r[key])), sorted(c.expect), `${endpoint} ${c.name}: ${filter}`);
      t.equal(res.body.totalResults, c.expect.length, `${endpoint} ${c.name}: totalResults`);
    }
  }
});

t.test('Entra: externalId eq, displayName eq with excludedAttributes=members', async (t) => {
  const { scim } = await testApp(t);
  const dir = await seedDirectory(scim);
  const users = await scim.json('GET', `/Users${q({ filter: 'externalId eq "EXT-Alice"' })}`);
  t.same(users.body.Resources.map((u: Resource) => u.id), [dir.users.alice!.id]);
  const groups = await scim.json('GET', `/Groups${q({ excludedAttributes: 'members', filter: 'displayName eq "Admins"' })}`);
  t.equal(groups.status, 200);
  t.equal(groups.body.totalResults, 1);
  const [group] = groups.body.Resources;
  t.equal(group.id, dir.groups.Admins!.id);
  t.equal(group.displayName, 'Admins');
  t.notOk('members' in group, 'members left out');
  t.ok(group.meta.location, 'other attributes still there');
});

t.test('sortBy and sortOrder', async (t) => {
  const { scim } = await testApp(t);
  await seedDirectory(scim);
  const names = async (params: Record<string, string>) => {
    const res = await scim.json('GET', `/Users${q(params)}`);
    t.equal(res.status, 200, JSON.stringify(params));
    return res.body.Resources.map((u: Resource) => u.userName);
  };
  const byName = ['alice@example.com', 'bob@example.com', 'Carol@Example.com', 'dave', 'erin@example.org'];
  t.same(await names({ sortBy: 'userName' }), byName, 'userName ascending, case-insensitively');
  t.same(await names({ sortBy: 'USERNAME', sortOrder: 'descending' }), [...byName].reverse(), 'descending');
  t.same(await names({ sortBy: 'userName', sortOrder: 'DESCENDING' }), [...byName].reverse(), 'sortOrder is case-insensitive');
  // Primary else first value: bob sorts by aaron-bob@work.test (primary, listed second); dave has no email.
  t.same(await names({ sortBy: 'emails.value' }),
    ['bob@example.com', 'alice@example.com', 'Carol@Example.com', 'erin@example.org', 'dave'], 'multi-valued: primary value, absent last');
  t.same(await names({ sortBy: 'emails', sortOrder: 'descending' }),
    ['dave', 'erin@example.org', 'Carol@Example.com', 'alice@example.com', 'bob@example.com'], 'emails means emails.value; descending');
  t.same(await names({ sortBy: 'meta.created', sortOrder: 'descending' }),
    ['erin@example.org', 'dave', 'Carol@Example.com', 'bob@example.com', 'alice@example.com'], 'meta.created descending');
  t.same(await names({ sortBy: `${ENTERPRISE_URN}:department`, filter: `${ENTERPRISE_URN}:department pr` }),
    ['alice@example.com', 'Carol@Example.com', 'bob@example.com'], 'extension attribute, case-insensitively, ties by id');
  t.same(await names({ sortBy: 'userName', filter: 'title eq "Engineer"', sortOrder: 'descending' }),
    ['Carol@Example.com', 'alice@example.com'], 'sort applies to the filtered set');
  const groups = await scim.json('GET', `/Groups${q({ sortBy: 'displayName', sortOrder: 'descending' })}`);
  t.same(groups.body.Resources.map((g: Resource) => g.displayName), ['Staff', 'Empty', 'Admins']);
});

t.test('startIndex, count and totalResults', async (t) => {
  const { scim } = await testApp(t, { SCIM_MAX_PAGE_SIZE: '3', SCIM_DEFAULT_PAGE_SIZE: '2' });
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) ids.push((await post(scim, '/Users', userBody(`user${i}`))).id);
  const page = async (params: Record<string, string | number>) => {
    const res = await scim.json('GET', `/Users${q(params)}`);
    t.equal(res.status, 200, JSON.stringify(params));
    t.same(res.body.schemas, [LIST_URN]);
    return res.body;
  };

  let body = await page({});
  t.match(body, { totalResults: 7, startIndex: 1, itemsPerPage: 2 }, 'default page size');
  t.equal(body.Resources.length, 2);

  body = await page({ startIndex: 0, count: 1, sortBy: 'userName' });
  t.match(body, { startIndex: 1, itemsPerPage: 1 }, 'startIndex 0 is read as 1');
  t.equal(body.Resources[0].userName, 'user0');
  body = await page({ startIndex: -5, count: 1, sortBy: 'userName' });
  t.equal(body.Resources[0].userName, 'user0', 'negative startIndex is read as 1');

  body = await page({ count: -1 });
  t.match(body, { totalResults: 7, itemsPerPage: 0 }, 'negative count is read as 0');
  t.same(body.Resources, []);

  body = await page({ count: 0, filter: 'userName sw "user1"' });
  t.match(body, { totalResults: 1, itemsPerPage: 0 }, 'count=0 returns only totalResults');
  t.same(body.Resources, []);

  body = await page({ count: 1000 });
  t.equal(body.Resources.length, 3, 'count above the maximum is capped');
  t.equal(body.totalResults, 7);

  body = await page({ startIndex: 8, count: 3 });
  t.match(body, { totalResults: 7, startIndex: 8, itemsPerPage: 0 }, 'past the end: empty page, exact total');

  body = await page({ startindex: 6, COUNT: 3, sortBy: 'userName' });
  t.same(body.Resources.map((u: Resource) => u.userName), ['user5', 'user6'], 'parameter names are case-insensitive; last page is short');

  for (const sortBy of [undefined, 'userName', 'meta.created']) {
    const seen: string[] = [];
    for (let start = 1; start <= 7; start += 2) {
      body = await page({ startIndex: start, count: 2, ...(sortBy ? { sortBy, sortOrder: 'descending' } : {}) });
      t.equal(body.totalResults, 7);
      t.equal(body.startIndex, start);
      seen.push(...body.Resources.map((u: Resource) => u.id));
    }
    t.same(sorted(seen), sorted(ids), `paging ${sortBy ?? 'by default order'} yields each user exactly once`);
  }
});

t.test('attributes and excludedAttributes', async (t) => {
  const { scim } = await testApp(t);
  const dir = await seedDirectory(scim);
  const alice = dir.users.alice!;
  const get = async (params: Record<string, string>, path = `/Users/${alice.id}`) => {
    const res = await scim.json('GET', `${path}${q(params)}`);
    t.equal(res.status, 200, JSON.stringify(params));
    return path.endsWith('/Users') ? res.body.Resources[0] : res.body;
  };

  t.same(await get({ attributes: 'userName' }), { schemas: [USER_URN, ENTERPRISE_URN], id: alice.id, userName: 'alice@example.com' },
    'only what was asked, plus id and schemas');
  t.same(await get({ attributes: 'name.givenName,EMAILS.value' }),
    { schemas: [USER_URN, ENTERPRISE_URN], id: alice.id, name: { givenName: 'Alice' }, emails: [{ value: 'alice@x.test' }, { value: 'alice@home.test' }] },
    'sub-attributes, case-insensitively');
  t.same(await get({ attributes: `${ENTERPRISE_URN}:department` }),
    { schemas: [USER_URN, ENTERPRISE_URN], id: alice.id, [ENTERPRISE_URN]: { department: 'Engineering' } }, 'URN-qualified extension attribute');
  t.same(await get({ attributes: `urn:ietf:params:scim:schemas:core:2.0:User:displayName` }),
    { schemas: [USER_URN, ENTERPRISE_URN], id: alice.id, displayName: 'Alice Liddell' }, 'URN-qualified core attribute');
  t.same(await get({ attributes: 'id' }), { schemas: [USER_URN, ENTERPRISE_URN], id: alice.id });

  const excluded = await get({ excludedAttributes: 'emails,name.familyName,id,groups' });
  t.equal(excluded.id, alice.id, 'id cannot be excluded');
  t.same(excluded.schemas, [USER_URN, ENTERPRISE_URN], 'schemas still there');
  t.notOk('emails' in excluded);
  t.notOk('groups' in excluded);
  t.same(excluded.name, { givenName: 'Alice' }, 'only the excluded sub-attribute is gone');
  t.equal(excluded.userName, 'alice@example.com');
  t.ok(excluded.meta, 'the rest is returned');

  const noManager = await get({ excludedAttributes: `${ENTERPRISE_URN}:manager` });
  t.same(noManager[ENTERPRISE_URN], { department: 'Engineering' });

  const listed = await get({ filter: 'userName eq "alice@example.com"', attributes: 'userName,groups.display' }, '/Users');
  t.same(listed, { schemas: [USER_URN, ENTERPRISE_URN], id: alice.id, userName: 'alice@example.com', groups: [{ display: 'Admins' }] },
    'projection applies to list results too');

  const group = await get({ attributes: 'members.value' }, `/Groups/${dir.groups.Admins!.id}`);
  t.same(group, { schemas: [GROUP_URN], id: dir.groups.Admins!.id, members: [{ value: alice.id }, { value: dir.users.bob!.id }].sort((a, b) => a.value.localeCompare(b.value)) });

  const created = await scim.json('POST', `/Users${q({ attributes: 'userName' })}`, userBody('zed'));
  t.equal(created.status, 201);
  t.same(Object.keys(created.body).sort(), ['id', 'schemas', 'userName'], 'POST honours attributes in its response');
});

t.test('POST /Users/.search and root POST /.search', async (t) => {
  const { scim } = await testApp(t);
  const dir = await seedDirectory(scim);

  const search = await scim.json('POST', '/Users/.search', {
    schemas: [SEARCH_URN],
    filter: 'title eq "Engineer"',
    sortBy: 'userName',
    sortOrder: 'descending',
    attributes: ['userName'],
    startIndex: 1,
    count: 1,
  });
  t.equal(search.status, 200);
  t.match(search.body, { schemas: [LIST_URN], totalResults: 2, startIndex: 1, itemsPerPage: 1 });
  t.same(search.body.Resources, [{ schemas: [USER_URN, ENTERPRISE_URN], id: dir.users.carol!.id, userName: 'Carol@Example.com' }]);

  const groups = await scim.json('POST', '/Groups/.search', { schemas: [SEARCH_URN], filter: 'displayName eq "staff"', excludedAttributes: ['members'] });
  t.equal(groups.body.totalResults, 1);
  t.notOk('members' in groups.body.Resources[0]);

  // displayName exists on both types: users first, then groups.
  const both = await scim.json('POST', '/.search', { schemas: [SEARCH_URN], filter: 'displayName sw "A"', sortBy: 'displayName' });
  t.equal(both.status, 200);
  t.equal(both.body.totalResults, 2);
  t.same(both.body.Resources.map((r: Resource) => [r.meta.resourceType, r.displayName]), [['User', 'Alice Liddell'], ['Group', 'Admins']]);

  const window = await scim.json('POST', '/.search', { filter: 'displayName sw "A"', startIndex: 2, count: 1 });
  t.match(window.body, { totalResults: 2, startIndex: 2, itemsPerPage: 1 });
  t.equal(window.body.Resources[0].displayName, 'Admins', 'paging runs over users then groups');

  const groupOnly = await scim.json('POST', '/.search', { filter: 'members pr' });
  t.equal(groupOnly.status, 200, 'a Group-only attribute is not an error at the root');
  t.same(sorted(groupOnly.body.Resources.map((r: Resource) => r.displayName)), ['Admins', 'Staff']);
  t.equal(groupOnly.body.totalResults, 2);

  const userOnly = await scim.json('POST', '/.search', { filter: 'userName sw "dave"' });
  t.same(userOnly.body.Resources.map((r: Resource) => r.id), [dir.users.dave!.id]);

  const all = await scim.json('POST', '/.search', {});
  t.equal(all.body.totalResults, 8, 'no filter: every user and group');

  const bad = await scim.json('POST', '/.search', { filter: 'nosuch eq "x"' });
  t.equal(bad.status, 400, 'an attribute neither type has is still a 400');
  t.equal(bad.body.scimType, 'invalidFilter');
});
