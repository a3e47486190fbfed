import t from 'tap';
import { CursorCodec } from '../../src/scim/cursor.js';
import { createGroup, createUser, testApp, type ScimClient } from '../helpers/app.js';

type Page = { status: number; body: { totalResults: number; itemsPerPage: number; startIndex?: number; Resources: { id: string; userName?: string }[]; nextCursor?: string; previousCursor?: string; scimType?: string; detail?: string } };

async function page(scim: ScimClient, query: string): Promise<Page> {
  return scim.json('GET', `/Users?${query}`) as Promise<Page>;
}

/** Walks every page forward from the first and returns the userNames in the order seen. */
async function walk(scim: ScimClient, query: string, between?: (n: number) => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  let res = await page(scim, `${query}&cursor=`);
  for (let n = 0; ; n++) {
    if (res.status !== 200) throw new Error(JSON.stringify(res.body));
    seen.push(...res.body.Resources.map((r) => r.userName!));
    if (!res.body.nextCursor) return seen;
    await between?.(n);
    res = await page(scim, `${query}&cursor=${encodeURIComponent(res.body.nextCursor)}`);
  }
}

t.test('a cursor walk returns every user once, in order, forward and back', async (t) => {
  const { scim } = await testApp(t);
  const names = Array.from({ length: 23 }, (_, i) => `u${String(i).padStart(2, '0')}`);
  for (const name of names) await createUser(scim, name, { title: i(name) % 3 === 0 ? undefined : `t${i(name) % 4}` });

  const first = await page(scim, 'count=5&cursor');
  t.equal(first.status, 200);
  t.equal(first.body.totalResults, 23);
  t.equal(first.body.itemsPerPage, 5);
  t.notOk('startIndex' in first.body, 'a cursor page has no index');
  t.notOk(first.body.previousCursor, 'the first page has no previous page');
  t.ok(first.body.nextCursor);

  t.same(await walk(scim, 'count=5&sortBy=userName'), names, 'sorted by userName');
  t.same(await walk(scim, 'count=4&sortBy=userName&sortOrder=descending'), [...names].reverse(), 'descending');
  const byTitle = await walk(scim, 'count=3&sortBy=title');
  t.equal(byTitle.length, 23, 'sorting by an attribute some users lack still reaches every user');
  t.equal(new Set(byTitle).size, 23, 'once each');
  t.same(byTitle.slice(-8).sort(), names.filter((n) => i(n) % 3 === 0).sort(), 'those without a title come last');
  t.same(await walk(scim, `count=7&filter=${encodeURIComponent('userName sw "u1"')}`), names.filter((n) => n.startsWith('u1')).sort(), 'with a filter');

  // Back: the previous page of the third page is the second.
  const second = await page(scim, `count=5&sortBy=userName&cursor=${encodeURIComponent((await page(scim, 'count=5&sortBy=userName&cursor')).body.nextCursor!)}`);
  const third = await page(scim, `count=5&sortBy=userName&cursor=${encodeURIComponent(second.body.nextCursor!)}`);
  const back = await page(scim, `count=5&sortBy=userName&cursor=${encodeURIComponent(third.body.previousCursor!)}`);
  t.same(back.body.Resources.map((r) => r.userName), names.slice(5, 10), 'previousCursor leads to the page before');
  t.ok(back.body.previousCursor && back.body.nextCursor);
  const backAgain = await page(scim, `count=5&sortBy=userName&cursor=${encodeURIComponent(back.body.previousCursor!)}`);
  t.same(backAgain.body.Resources.map((r) => r.userName), names.slice(0, 5));
  t.notOk(backAgain.body.previousCursor, 'and the first page, reached backward, has none before it');

  const searched = await scim.json('POST', '/Users/.search', { count: 10, cursor: '', sortBy: 'userName' });
  t.equal(searched.body.Resources.length, 10, '/.search takes cursor in its body');
  const next = await scim.json('POST', '/Users/.search', { count: 10, cursor: searched.body.nextCursor, sortBy: 'userName' });
  t.equal(next.body.Resources[0].userName, 'u10');
});

function i(name: string): number {
  return Number(name.slice(1));
}

t.test('a walk is stable while users are created and deleted: nothing repeated, nothing that existed throughout skipped', async (t) => {
  const { scim } = await testApp(t);
  const ids = new Map<string, string>();
  for (let n = 0; n < 30; n++) ids.set(`s${String(n).padStart(2, '0')}`, await createUser(scim, `s${String(n).padStart(2, '0')}`));
  const deleted = new Set<string>();
  const seen = await walk(scim, 'count=4&sortBy=userName', async (n) => {
    // Between pages: delete one user ahead and one behind, create one ahead and one behind.
    const ahead = `s${String(n * 4 + 10).padStart(2, '0')}`;
    if (ids.has(ahead) && !deleted.has(ahead)) {
      t.equal((await scim.request('DELETE', `/Users/${ids.get(ahead)}`)).statusCode, 204);
      deleted.add(ahead);
    }
    const behind = `s${String(n).padStart(2, '0')}`;
    if (!deleted.has(behind)) {
      await scim.request('DELETE', `/Users/${ids.get(behind)}`);
      deleted.add(behind);
    }
    await createUser(scim, `s${String(n).padStart(2, '0')}-new`);
    await createUser(scim, `t-new-${n}`);
  });
  t.equal(new Set(seen).size, seen.length, 'no user seen twice');
  const throughout = [...ids.keys()].filter((name) => !deleted.has(name));
  for (const name of throughout) t.ok(seen.includes(name), `${name} (there all along) was seen`);
});

t.test('cursors are opaque, tamper-evident, bound to the tenant and the query, and expire', async (t) => {
  const { scim, tenant } = await testApp(t);
  for (let n = 0; n < 6; n++) await createUser(scim, `c${n}`);
  await createGroup(scim, 'g');
  const cursor = (await page(scim, 'count=2&sortBy=userName&cursor')).body.nextCursor!;
  const refused = async (query: string, scimType: string, what: string, client = scim, path = '/Users') => {
    const res = await client.json('GET', `${path}?${query}`);
    t.equal(res.status, 400, what);
    t.equal(res.body.scimType, scimType, what);
  };
  const tampered = cursor.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
  await refused(`count=2&sortBy=userName&cursor=${encodeURIComponent(tampered)}`, 'invalidCursor', 'an altered cursor');
  await refused('count=2&cursor=garbage', 'invalidCursor', 'garbage');
  await refused(`count=2&sortBy=displayName&cursor=${encodeURIComponent(cursor)}`, 'invalidCursor', 'another sortBy');
  await refused(`count=2&sortBy=userName&filter=${encodeURIComponent('userName pr')}&cursor=${encodeURIComponent(cursor)}`, 'invalidCursor', 'another filter');
  await refused(`count=2&cursor=${encodeURIComponent(cursor)}`, 'invalidCursor', 'another resource type', scim, '/Groups');
  await refused(`count=2&sortBy=userName&cursor=${encodeURIComponent(cursor)}`, 'invalidCursor', 'another tenant', await tenant('other'));
  await refused('cursor=&startIndex=3', 'invalidValue', 'cursor and startIndex together');
  const root = await scim.json('POST', '/.search', { cursor: '' });
  t.equal(root.status, 400, 'the root /.search pages by index only');
  const ok = await page(scim, `count=2&sortBy=USERNAME&attributes=userName&cursor=${encodeURIComponent(cursor)}`);
  t.equal(ok.status, 200, 'the attribute name\'s case and the projection may change between pages');

  const key = Buffer.alloc(32, 7);
  let now = 1_000_000_000_000;
  const codec = new CursorCodec(key, 60, () => now);
  const scope = { tenantId: 't', resourceType: 'User', sortOrder: 'ascending' as const };
  const issued = codec.encode(scope, { direction: 'next', position: { key: null, id: 'x' } });
  t.same(codec.decode(scope, issued), { direction: 'next', position: { key: null, id: 'x' } });
  now += 61_000;
  t.throws(() => codec.decode(scope, issued), { name: 'ScimError', message: /has expired \(cursorTimeout is 60 s\)/ }, 'after cursorTimeout: expiredCursor');
  t.throws(() => new CursorCodec(Buffer.alloc(32, 8), 60, () => now - 61_000).decode(scope, issued), { name: 'ScimError', message: /not valid/ }, 'another key: invalidCursor');
});

t.test('ServiceProviderConfig offers cursors with their timeout', async (t) => {
  const { scim } = await testApp(t, { SCIM_CURSOR_TIMEOUT_SECONDS: '900' });
  const spc = (await scim.json('GET', '/ServiceProviderConfig')).body;
  t.match(spc.pagination, { cursor: true, index: true, defaultPaginationMethod: 'index', cursorTimeout: 900 });
  const groups = await scim.json('GET', '/Groups?cursor=&count=1');
  t.equal(groups.status, 200, 'Groups page by cursor too');
});
