import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { GROUP_URN, testApp, USER_URN, type ScimClient } from '../helpers/app.js';

/**
 * Replays every recorded IdP request shape (test/fixtures/<idp>/*.json, see its README) over HTTP against
 * a real server and database: the state before is created through SCIM, the request is sent exactly as
 * the IdP sends it, and the stored result is read back through SCIM.
 */
interface Fixture {
  description: string;
  method: 'PATCH' | 'POST' | 'PUT';
  path: string;
  query?: string;
  headers?: Record<string, string>;
  given?: { resourceType: 'User' | 'Group'; id?: string; resource?: Record<string, unknown>; members?: string[] };
  body: unknown;
  expect: { status: number; scimType?: string; resource?: Record<string, unknown>; members?: string[] };
}

const root = path.resolve(import.meta.dirname, '../fixtures');
const fixtures = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => readdirSync(path.join(root, d.name)).filter((f) => f.endsWith('.json')).map((f) => path.join(d.name, f)));

/** Member ids in fixtures are placeholders (`u1`); every such id gets a real user in the tenant. */
function placeholders(fixture: Fixture): string[] {
  const ids = new Set<string>(fixture.given?.members ?? []);
  for (const id of fixture.expect.members ?? []) ids.add(id);
  const text = JSON.stringify(fixture.body);
  for (const m of text.matchAll(/"value":\s*"([^"]+)"/g)) if (/members/i.test(text)) ids.add(m[1]!);
  for (const m of text.matchAll(/value eq \\"([^"\\]+)\\"/g)) ids.add(m[1]!);
  return [...ids];
}

function substitute<T>(value: T, map: Map<string, string>): T {
  let text = JSON.stringify(value);
  for (const [from, to] of map) {
    text = text.replace(new RegExp(`(?<![A-Za-z0-9_-])${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_-])`, 'g'), to);
  }
  return JSON.parse(text) as T;
}

async function memberIds(scim: ScimClient, groupId: string): Promise<string[]> {
  const res = await scim.json('GET', `/Groups/${groupId}`);
  return ((res.body.members ?? []) as { value: string }[]).map((m) => m.value).sort();
}

t.test('recorded IdP requests replayed over HTTP', async (t) => {
  const app = await testApp(t);
  let n = 0;
  for (const file of fixtures) {
    const fixture = JSON.parse(readFileSync(path.join(root, file), 'utf8')) as Fixture;
    n++;
    await t.test(`${file}: ${fixture.description}`, async (t) => {
      // Each fixture gets its own tenant: fixtures reuse userNames and group names.
      const scim = await app.tenant(`replay-${n}`);
      const ids = new Map<string, string>();
      const member = placeholders(fixture);
      for (const ph of member) {
        const res = await scim.json('POST', '/Users', { schemas: [USER_URN], userName: `member-${ph}-${n}` });
        ids.set(ph, res.body.id);
      }
      let targetId = '';
      if (fixture.given) {
        const given = substitute(fixture.given, ids);
        if (given.resourceType === 'User') {
          const res = await scim.json('POST', '/Users', { schemas: [USER_URN], userName: `replay-${n}`, ...given.resource });
          t.equal(res.status, 201, 'given user created');
          targetId = res.body.id;
        } else {
          const res = await scim.json('POST', '/Groups', {
            schemas: [GROUP_URN],
            displayName: `replay group ${n}`,
            ...given.resource,
            members: (given.members ?? []).map((value) => ({ value })),
          });
          t.equal(res.status, 201, `given group created: ${JSON.stringify(res.body)}`);
          targetId = res.body.id;
        }
      }
      // Okta echoes the resource's own id in pathless replaces: map the fixture's id to the real one.
      if (fixture.given?.id && !ids.has(fixture.given.id)) ids.set(fixture.given.id, targetId);
      const body = substitute(fixture.body, ids);
      const url = fixture.path.replace('{id}', targetId) + (fixture.query ? `?${fixture.query}` : '');
      const res = await scim.json(fixture.method, url, body, fixture.headers);
      t.equal(res.status, fixture.expect.status, JSON.stringify(res.body));
      if (fixture.expect.scimType) t.equal(res.body?.scimType, fixture.expect.scimType);
      if (res.status >= 300) return;
      const id = fixture.method === 'POST' ? res.body.id : targetId;
      const isGroup = fixture.path.startsWith('/Groups');
      const stored = (await scim.json('GET', `/${isGroup ? 'Groups' : 'Users'}/${id}`)).body;
      if (fixture.expect.resource) t.match(stored, substitute(fixture.expect.resource, ids), 'stored resource');
      // A client comparing what it sent with what it reads back sees the same server-filled sub-attributes
      // (a member's display, $ref, type) in the write's answer as in a GET.
      if (res.body?.id && !/attributes=/i.test(fixture.query ?? '')) t.same(res.body, stored, 'the write answered what a GET reads back');
      if (fixture.expect.members) {
        t.same(await memberIds(scim, id), substitute(fixture.expect.members, ids).sort(), 'members');
      }
    });
  }
  t.ok(n >= 30, `replayed ${n} fixtures`);
});
